"""Fixtures: a real Redis, SQLite or PostgreSQL, the sandbox on loopback, the
app, and an in-process Dramatiq worker.

Test modules choose the database with the ``database_url`` fixture: SQLite in a
temp file by default; ``@pytest.mark.parametrize("database_url", ["sqlite",
"postgresql"], indirect=True)`` runs a test on both.
"""
from __future__ import annotations

import itertools
import os

import dramatiq
import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from socialpub import db, schema
from socialpub.config import Settings
from socialpub.models import User, utcnow
from socialpub.people.accounts import issue_token
from socialpub.sandbox import create_sandbox_app
from socialpub.sandbox.server import serve_in_thread
from socialpub.web.app import create_app

from .support import services


@pytest.fixture(scope="session")
def redis_url():
    return services.redis_url()


@pytest.fixture(scope="session")
def postgres_base_url():
    url = services.postgres_url()
    if url is None:
        pytest.skip(f"no PostgreSQL: {services.postgres_unavailable_reason()}")
    # SOCIALPUB_TEST_DB lets two runs on one machine keep out of each other's way
    # (with REDIS_URL pointing them at different Redis databases); xdist's workers
    # each have a database of their own within a run.
    name = os.environ.get("SOCIALPUB_TEST_DB", "socialpub_test")
    if services.xdist_worker() is not None:
        name = f"{name}_gw{services.xdist_worker()}"
    return services.fresh_postgres_database(url, name)


@pytest.fixture
def database_url(request, tmp_path):
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'socialpub.db'}"
    url = request.getfixturevalue("postgres_base_url")
    database = db.make_database(url)
    with database.connection_context():
        database.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    database.close_all()
    return url


#: Where the tests' images are served (the sandbox's own, the app's /m/ links, tests' image hosts),
#: which socialpub's fetches allow too (the ``settings`` fixture's ``outbound_allow``).
LOOPBACK = ("127.0.0.1/32",)


def loopback_fetching(sandbox_app):
    """``sandbox_app``, its Instagram allowed to fetch images served on loopback."""
    sandbox_app.extensions["sandbox"].fetch_allow = LOOPBACK
    return sandbox_app


@pytest.fixture(scope="session")
def sandbox():
    """The four networks' stand-in, on an ephemeral loopback port."""
    handle = serve_in_thread(loopback_fetching(create_sandbox_app()))
    yield handle
    handle.stop()


class SandboxClient:
    """Reads and steers the sandbox from tests."""

    def __init__(self, url):
        self.url = url

    def reset(self, webhook: bool = False):
        """Forget what the sandbox received; ``webhook`` also forgets where its WhatsApp webhooks go."""
        requests.post(f"{self.url}/_sandbox/reset", json={"latencies": True, "webhook": webhook},
                      timeout=5).raise_for_status()

    def configure(self, **networks):
        requests.post(f"{self.url}/_sandbox/config", json=networks, timeout=5).raise_for_status()

    def received(self, network=None):
        params = {"network": network} if network else None
        return requests.get(f"{self.url}/_sandbox/received", params=params, timeout=5).json()

    def requests(self, everything=False):
        """Refused requests; with ``everything``, accepted ones too."""
        params = {"all": "1"} if everything else None
        return requests.get(f"{self.url}/_sandbox/requests", params=params, timeout=5).json()


@pytest.fixture
def sandbox_client(sandbox):
    client = SandboxClient(sandbox.url)
    client.reset(webhook=True)
    yield client
    client.reset(webhook=True)  # no later test gets this one's webhooks


class PublicServer:
    """A loopback port that serves the test's app once it is made (the ``app``
    fixture hands it over), so that its address can be in the app's settings."""

    app = None
    url = ""

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture
def public_server():
    """This test's app on a loopback port, which is its ``public_base_url``: the
    sandbox's Instagram fetches the signed ``/m/`` links there, as Meta fetches
    them from an installation's public address."""
    server = PublicServer()
    handle = serve_in_thread(server)
    server.url = handle.url
    yield server
    handle.stop()


@pytest.fixture
def settings(request, database_url, redis_url, tmp_path):
    """Fast retries for tests; ``@pytest.mark.settings(name=value)`` overrides;
    a test using ``public_server`` has it as its ``public_base_url``."""
    marker = request.node.get_closest_marker("settings")
    overrides = marker.kwargs if marker else {}
    if "public_server" in request.fixturenames:
        overrides = {"public_base_url": request.getfixturevalue("public_server").url, **overrides}
    return Settings(database_url=database_url, redis_url=redis_url, instance_dir=str(tmp_path),
                    secret_key="test", max_retries=2, min_backoff_ms=50, max_backoff_ms=200,
                    read_timeout=10, outbound_allow=LOOPBACK,  # the sandbox
                    # A WhatsApp send whose answer was lost is unconfirmed at once, unless a test waits for Meta;
                    # the demo's contacts get several posts a second, unless a test keeps Meta's pair rate;
                    # a channel takes posts as fast as they come, unless a test spaces them.
                    whatsapp_status_wait_s=0, whatsapp_pair_pause_s=0, channel_min_gap_s=0,
                    channel_max_per_hour=0).with_(**overrides)


#: The password of the user every test app has (its hash is computed once: scrypt is slow on purpose).
TEST_EMAIL, TEST_PASSWORD = "tester@example.com", "a long test password"
_TEST_PASSWORD_HASH = generate_password_hash(TEST_PASSWORD)


class SignedInClient(FlaskClient):
    """``app.test_client()`` in tests: signed in as the test user, and sending its API token."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.application.config['TEST_API_TOKEN']}"
        with self.session_transaction() as session:
            session.update(self.application.config["TEST_SESSION"])


def add_test_user(app):
    """Create the test user in the app's (upgraded) database and make
    ``app.test_client()`` sign in as them and send their API token."""
    user = User.create(email=TEST_EMAIL, password_hash=_TEST_PASSWORD_HASH, role="admin")
    app.config["TEST_API_TOKEN"] = issue_token(user, "tests")[1]
    app.config["TEST_SESSION"] = {"user_id": user.id, "v": user.session_version}
    app.test_client_class = SignedInClient


@pytest.fixture
def member(app):
    """``member(role)``: a client signed in as a new user with ``role``, sending
    that user's API token (``token=False``: the session alone); ``.user_id`` is theirs."""
    made = itertools.count(1)

    def member(role, token=True):
        with db.database.connection_context():
            user = User.create(email=f"{role}-{next(made)}@example.com", password_hash=_TEST_PASSWORD_HASH,
                               role=role)
            plaintext = issue_token(user, "tests")[1]
        client = FlaskClient(app, app.response_class, use_cookies=True)
        if token:
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"
        with client.session_transaction() as session:
            session.update({"user_id": user.id, "v": user.session_version})
        client.user_id, client.email, client.token = user.id, user.email, plaintext
        return client
    return member


def forget_sign_in_attempts(app):
    """Sign-in attempts, and the people a WhatsApp number messaged in the last seconds (its pair
    rate), are kept in Redis, which outlives a test's database."""
    from socialpub.worker.broker import redis_client

    client = redis_client(app)
    for pattern in ("socialpub:sign-in-attempts:*", "socialpub:whatsapp-pair:*", "socialpub:requests:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


@pytest.fixture
def app(request, settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    if "public_server" in request.fixturenames:
        request.getfixturevalue("public_server").app = app
    database = db.database.obj
    with database.connection_context():
        schema.upgrade()
        add_test_user(app)
    forget_sign_in_attempts(app)
    broker = dramatiq.get_broker()
    broker.flush_all()
    yield app
    broker.flush_all()
    broker.close()
    if not settings.is_sqlite:
        database.close_all()
    else:
        database.close()


@pytest.fixture
def client(app):
    """Signed in, with an API token (see :class:`SignedInClient`)."""
    return app.test_client()


@pytest.fixture
def form_client(app):
    """Signed in, for posting forms: CSRF is off here (tests/web/test_auth.py tests it on its own)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


@pytest.fixture
def anon_client(app):
    """Neither signed in nor sending a token."""
    return FlaskClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def api_token(app) -> str:
    """The test user's API token (the ``client`` fixture already sends it)."""
    return app.config["TEST_API_TOKEN"]


@pytest.fixture
def broker(app):
    return dramatiq.get_broker()


@pytest.fixture
def worker(broker):
    """An in-process Dramatiq worker with 8 threads, stopped after the test."""
    worker = dramatiq.Worker(broker, worker_threads=8, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def drain(broker, worker, settings):
    """Wait until every message, including retries, has been processed."""

    def drain(timeout_ms=60_000):
        broker.join(settings.queue_name, timeout=timeout_ms)
        worker.join()

    return drain


@pytest.fixture
def settle(broker, worker, settings):
    """``settle()`` waits until every webhook and e-mail message, the delayed ones too, has been handled."""
    def settle():
        for queue in ("webhooks", "mail"):
            broker.join(f"{settings.queue_name}-{queue}", timeout=30_000)
        worker.join()
    return settle


@pytest.fixture
def sandbox_channels(app, sandbox, sandbox_client):
    """One channel per network, pointed at the sandbox; returns {network: channel id}."""
    from socialpub.intake.channels import create_channel
    from socialpub.intake.channels import sandbox_channels as definitions

    with db.database.connection_context():
        return {d["network"]: create_channel(d).id for d in definitions(sandbox.url)}


@pytest.fixture
def create(client, sandbox):
    """``create(**fields)`` makes a post through the API and returns its id; by
    default a text of its own (LinkedIn refuses a repeated one) and the
    sandbox's image (Instagram needs one; LinkedIn downloads it)."""
    made = itertools.count(1)

    def create(**payload):
        payload.setdefault("text", f"Hello from socialpub, post {next(made)} of {utcnow().isoformat()}")
        payload.setdefault("image_url", f"{sandbox.url}/_sandbox/image.jpg")
        response = client.post("/api/posts", json=payload)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]
    return create


@pytest.fixture
def publish_and_drain(client, create, drain):
    """``publish_and_drain(**fields)``: create a post, publish it, wait until
    every message (retries included) is processed; returns the post id."""
    def publish_and_drain(**payload):
        post_id = create(**payload)
        response = client.post(f"/api/posts/{post_id}/publish")
        assert response.status_code == 202, response.get_json()
        drain()
        return post_id
    return publish_and_drain


@pytest.fixture
def publish_actor(app):
    """The publish actor, declared on the app's broker (import only after setup)."""
    from socialpub.worker.actors import publish

    return publish


# WhatsApp's fixtures: the app served over HTTP, and the sandbox channel with its webhooks and templates.
from .support.whatsapp_fixtures import served_app, whatsapp  # noqa: E402, F401
