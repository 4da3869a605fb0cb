"""The web entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``
(and ``flask --app wsgi db upgrade``, the same as ``socialpub db upgrade``)."""
from socialpub.commands.cli import db_group
from socialpub.web.app import create_app

app = create_app()
app.cli.add_command(db_group)
