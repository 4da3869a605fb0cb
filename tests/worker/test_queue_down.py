"""When Redis is unreachable — refusing connections, or accepting them and never
answering — the publish call answers 503 in bounded time and changes nothing:
the publications are back to pending, ready for the next try."""
import socket
import time

import pytest

from socialpub import db, schema
from socialpub.intake.channels import create_channel, sandbox_channels
from socialpub.models import Post, Publication
from socialpub.web.app import create_app

from tests.conftest import add_test_user


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_redis():
    """A server that accepts connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    with server:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def app_with_queue_at(settings, redis_url, sandbox):
    app = create_app(settings.with_(redis_url=redis_url))
    with db.database.connection_context():
        schema.upgrade()
        add_test_user(app)
        for definition in sandbox_channels(sandbox.url):
            create_channel(definition)
    return app


@pytest.mark.parametrize("queue", ["refusing", "silent"])
def test_publishing_with_redis_unreachable_answers_503_and_changes_nothing(
        settings, sandbox, queue, request):
    redis_url = (f"redis://127.0.0.1:{closed_port()}/0" if queue == "refusing"
                 else request.getfixturevalue("silent_redis"))
    client = app_with_queue_at(settings, redis_url, sandbox).test_client()
    post = client.post("/api/posts", json={"text": "Queue down", "image_url": f"{sandbox.url}/_sandbox/image.jpg"})
    assert post.status_code == 201
    post_id = post.get_json()["id"]

    started = time.monotonic()
    response = client.post(f"/api/posts/{post_id}/publish")
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "queue_unavailable"
    assert elapsed < 30  # a silent Redis times out (5 s) instead of hanging the request
    with db.database.connection_context():
        assert {p.status for p in Publication.select().where(Publication.post == post_id)} == {"pending"}
        assert Post.get_by_id(post_id).status == "draft"


def test_create_and_publish_with_redis_down_writes_nothing_and_can_be_sent_again(settings, sandbox):
    body = {"text": "Queue down", "image_url": f"{sandbox.url}/_sandbox/image.jpg", "publish": True}
    client = app_with_queue_at(settings, f"redis://127.0.0.1:{closed_port()}/0", sandbox).test_client()
    headers = {"Idempotency-Key": "create-while-redis-is-down"}
    response = client.post("/api/posts", json=body, headers=headers)
    assert response.status_code == 503
    assert "not kept" in response.get_json()["error"]["message"]
    with db.database.connection_context():
        assert (Post.select().count(), Publication.select().count()) == (0, 0)
    # The same request again, same key: carried out again (a 503 is not kept), still nothing written.
    assert client.post("/api/posts", json=body, headers=headers).status_code == 503
    with db.database.connection_context():
        assert Post.select().count() == 0


def test_a_post_scheduled_seconds_ahead_while_redis_is_down_is_kept_for_the_next_sweep(settings, sandbox):
    import datetime as dt

    from socialpub.models import utcnow

    client = app_with_queue_at(settings, f"redis://127.0.0.1:{closed_port()}/0", sandbox).test_client()
    when = (utcnow() + dt.timedelta(seconds=30)).replace(microsecond=0).isoformat() + "Z"
    response = client.post("/api/posts", json={"text": "soon", "networks": ["facebook"], "scheduled_at": when})
    assert response.status_code == 201
    assert response.get_json()["status"] == "scheduled"
    with db.database.connection_context():
        assert {p.status for p in Publication.select()} == {"pending"}
