"""The web entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""
from socialpub import create_app

app = create_app()
