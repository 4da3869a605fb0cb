"""socialpub: publish one post to Facebook Pages, Instagram, LinkedIn and
WhatsApp at once, through a Dramatiq queue."""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:  # Flask is imported by create_app: the worker processes go without (~20 MB)
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: Settings | dict | None = None) -> Flask:
    """The Flask application factory.

    Parameters:
      config: a :class:`Settings`, or a dict of Settings fields that override
        the environment's, or None for the environment alone.
    """
    from flask import Flask, request
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import db, encryption, schema
    from .networks.outbound import guard_api_calls
    from .queue.broker import setup_broker
    from .web.routing import IdConverter

    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env().with_(**(config or {}))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app = Flask(__name__, instance_path=settings.instance_dir)
    app.url_map.converters["int"] = IdConverter  # every <int:…> is an id: 1 to db.MAX_ID
    app.config.update(
        SECRET_KEY=settings.ensure_secret_key(), MAX_CONTENT_LENGTH=settings.max_body_bytes,
        # The session cookie: not readable by scripts, not sent on cross-site
        # sub-requests, HTTPS-only behind a TLS proxy, and it ends.
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.behind_proxy, PERMANENT_SESSION_LIFETIME=dt.timedelta(days=14))
    if settings.behind_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.json.sort_keys = False
    app.extensions["socialpub"] = settings

    db.bind(settings.database_url)
    encryption.use_keys(settings.ensure_encryption_keys())
    if settings.is_sqlite:
        # The embedded default has no deploy step: bring its file up to date here.
        with db.database.connection_context():
            schema.upgrade()
    setup_broker(settings)
    # Workers run in this process too (tests, `flask shell`): their calls are guarded here as well.
    guard_api_calls(settings.outbound_allow)

    @app.before_request
    def open_database():
        db.database.connect(reuse_if_open=True)

    from .api.media import body_limit

    @app.before_request
    def allow_uploads():
        """Endpoints that take files take bodies as large as their files (before CSRF reads the form)."""
        limit = body_limit(request.endpoint, settings)
        if limit:
            request.max_content_length = limit

    @app.teardown_request
    def close_database(exc):
        if not db.database.is_closed():
            db.database.close()

    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .cli import register_flask_commands
    from .web import bp as web_bp
    from .web import csrf

    app.register_blueprint(auth_bp)  # first: its gate runs before every other before_request
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    from .connecting import oauth
    from .metrics import exporter
    from .monitor import bp as monitor_bp

    app.register_blueprint(monitor_bp)
    exporter.init_app(app)  # /metrics
    oauth.init_app(app, settings)
    csrf.init_app(app)
    csrf.exempt(api_bp)  # the API's writes need a bearer token, which a browser never adds by itself
    register_flask_commands(app)
    return app
