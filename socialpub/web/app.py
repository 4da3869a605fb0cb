"""The app factory: the web process's Flask application, its blueprints, its
database and its broker (``gunicorn 'socialpub.web.app:create_app()'``, or wsgi.py)."""
from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import acting, db, encryption, schema
from ..config import Settings
from ..networks.outbound import guard_api_calls
from ..worker.broker import setup_broker
from . import envelope, exporter, oauth
from .api import bp as api_bp
from .auth import bp as auth_bp
from .blueprint import bp as web_bp
from .blueprint import csrf
from .monitor import bp as monitor_bp
from .routing import IdConverter
from .uploads import body_limit


def create_app(config: Settings | dict | None = None) -> Flask:
    """The Flask application factory.

    Parameters:
      config: a :class:`Settings`, or a dict of Settings fields that override
        the environment's, or None for the environment alone.
    """
    if isinstance(config, Settings):
        settings = config
    else:
        settings = Settings.from_env().with_(**(config or {}))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # Named after the package, as before: its name is the logger's and the root of its paths.
    app = Flask("socialpub", instance_path=settings.instance_dir)
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
        acting.settings.set(current_app.extensions["socialpub"])  # tests may swap it for another
        db.database.connect(reuse_if_open=True)

    @app.before_request
    def allow_uploads():
        """Endpoints that take files take bodies as large as their files (before CSRF reads the form)."""
        limit = body_limit(request.endpoint, settings)
        if limit:
            request.max_content_length = limit

    @app.teardown_request
    def close_database(exc):
        acting.clear()
        if not db.database.is_closed():
            db.database.close()

    app.register_blueprint(auth_bp)  # first: its gate runs before every other before_request
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(monitor_bp)
    envelope.register(app)  # one JSON error shape
    exporter.init_app(app)  # /metrics
    oauth.init_app(app, settings)
    csrf.init_app(app)
    csrf.exempt(api_bp)  # the API's writes need a bearer token, which a browser never adds by itself
    return app
