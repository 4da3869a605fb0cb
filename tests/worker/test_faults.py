"""Fault tests with real `dramatiq` worker processes: kill -9 a worker while a
publish is in flight, lose Redis's data and connections, restart PostgreSQL —
and count what the sandbox received: every publication exactly once
(WhatsApp, which cannot be asked, once or "unconfirmed", never twice)."""
import datetime as dt
import os
import signal
import time
from pathlib import Path

import dramatiq
import pytest
import requests

from socialpub import db
from socialpub.models import OutboxEvent, Publication, WebhookDelivery, utcnow
from socialpub.webhooks import sending
from tests.conftest import add_test_user
from tests.support import services
from tests.support.processes import FAST, GRAPH_ITEM_PATHS, Reconciling, WorkerCLI, all_final, wait_for
from tests.support.webhook_receiver import Receiver


def assert_exactly_once(sandbox_client):
    """Facebook, Instagram, LinkedIn: published, each received once. WhatsApp:
    received at most once, and published or unconfirmed."""
    received = sandbox_client.received()
    keys = [(r["network"], r["text"]) for r in received]
    assert len(keys) == len(set(keys)), f"sent twice: {sorted(keys)}"
    with db.database.connection_context():
        pubs = list(Publication.select())
    for pub in pubs:
        if pub.network == "whatsapp":
            assert pub.status in ("published", "unconfirmed"), (pub.id, pub.status, pub.last_error)
        else:
            assert pub.status == "published", (pub.id, pub.network, pub.status, pub.last_error)
    published = {(p.network, p.text) for p in pubs if p.status == "published"}
    assert published <= set(keys), "a publication recorded as published never reached the sandbox"
    return received, pubs


def create_posts(client, sandbox, count, tag):
    ids = []
    for i in range(count):
        response = client.post("/api/posts", json={
            "text": f"{tag} post {i}", "image_url": f"{sandbox.url}/_sandbox/image.jpg"})
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


@pytest.mark.settings(**FAST)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_killing_workers_mid_publish_loses_nothing_and_sends_nothing_twice(
        client, app, sandbox, sandbox_client, sandbox_channels, settings, tmp_path):
    cli = WorkerCLI(settings, tmp_path / "worker.log")
    try:
        with Reconciling(settings):
            for round_ in range(3):
                cli.start()
                sandbox_client.configure(facebook={"hold": True})
                for post_id in create_posts(client, sandbox, 4, f"kill round {round_}"):
                    assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
                wait_for(lambda: requests.get(f"{sandbox.url}/_sandbox/held", timeout=5).json()
                         .get("facebook", 0) > 0, 30, "a Facebook request in flight")
                cli.kill_worker_process()
                # The network goes on to accept what the dead worker sent.
                sandbox_client.configure(facebook={"hold": False})
            cli.start()
            wait_for(all_final, 90, "every publication to reach a final state", interval=0.5)
    finally:
        cli.stop()
    received, pubs = assert_exactly_once(sandbox_client)
    assert len(pubs) == 48
    print(f"\nkill -9 x3: {len(pubs)} publications, {len(received)} items received, "
          f"statuses {sorted({p.status for p in pubs})}")


@pytest.fixture
def redis_url(request, redis_url):
    """A test marked ``private_redis`` gets a Redis server of its own: what it does
    to its server (flush it, cut every client) must not reach the tests that
    other xdist workers, or other runs on this machine, are running meanwhile."""
    if request.node.get_closest_marker("private_redis"):
        return services.start_embedded_redis()
    return redis_url


@pytest.mark.private_redis
@pytest.mark.settings(**FAST)
def test_redis_losing_its_data_and_connections_mid_run_loses_no_publication(
        client, app, sandbox, sandbox_client, sandbox_channels, settings, broker, worker):
    sandbox_client.configure(**{n: {"latency": 0.3} for n in GRAPH_ITEM_PATHS})
    with Reconciling(settings):
        for post_id in create_posts(client, sandbox, 6, "redis loss"):
            assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
        wait_for(lambda: len(sandbox_client.received()) >= 2, 30, "the first items to arrive")
        redis_client = broker.client
        redis_client.flushdb()  # as a restart without persistence would
        redis_client.client_kill_filter(_type="normal", skipme=True)
        wait_for(all_final, 90, "every publication to reach a final state", interval=0.5)
    received, pubs = assert_exactly_once(sandbox_client)
    assert len(pubs) == 24 and len(received) >= 23


@pytest.fixture
def private_postgres(tmp_path):
    """A PostgreSQL server of this test's own (pgserver), so restarting it
    disturbs no one else on the machine."""
    try:
        import pgserver
    except ImportError:
        pytest.skip("pgserver is not installed: no private PostgreSQL to restart")
    server = pgserver.get_server(tmp_path / "pgdata", cleanup_mode="stop")

    def restart():
        pid = server.get_pid()
        os.kill(pid, signal.SIGINT)  # fast shutdown: every connection is cut
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, "PostgreSQL to stop")
        server.ensure_postgres_running()

    yield server.get_uri(), restart
    server.cleanup()


@pytest.mark.settings(**FAST)
def test_restarting_postgresql_mid_run_loses_no_publication(
        private_postgres, redis_url, sandbox, sandbox_client, tmp_path, request):
    from socialpub import schema
    from socialpub.intake.channels import create_channel, sandbox_channels
    from socialpub.web.app import create_app

    url, restart = private_postgres
    settings = request.getfixturevalue("settings").with_(database_url=url)
    app = create_app(settings)
    with db.database.connection_context():
        schema.upgrade()
        add_test_user(app)
        for definition in sandbox_channels(sandbox.url):
            create_channel(definition)
    client = app.test_client()
    sandbox_client.configure(**{n: {"latency": 0.5} for n in GRAPH_ITEM_PATHS})
    cli = WorkerCLI(settings, tmp_path / "worker.log")
    cli.start()
    try:
        with Reconciling(settings):
            for post_id in create_posts(client, sandbox, 5, "postgres restart"):
                assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
            wait_for(lambda: len(sandbox_client.received()) >= 1, 30, "the first item to arrive")
            restart()
            wait_for(all_final, 120, "every publication to reach a final state", interval=0.5)
    finally:
        cli.stop()
    try:
        received, pubs = assert_exactly_once(sandbox_client)
    finally:
        db.database.close_all()
        dramatiq.get_broker().flush_all()
    assert len(pubs) == 20


# -- several photos: uploads checkpointed, the post made once -------------------------------


def held(sandbox, network):
    return requests.get(f"{sandbox.url}/_sandbox/held", timeout=5).json().get(network, 0) > 0


def photo_post(client, network, tag):
    """A post of three uploaded photos to one network; return its id and the photos' SHA-256."""
    from tests.web.test_media import photo, upload

    datas = [photo(size=(1080, 1080), color=(i * 80, 40, 200 - i * 60)) for i in range(3)]
    ids = [upload(client, data).get_json()["id"] for data in datas]
    response = client.post("/api/posts", json={"text": f"{tag}: three photos", "media_ids": ids,
                                               "networks": [network]})
    assert response.status_code == 201, response.get_json()
    import hashlib

    return response.get_json()["id"], [hashlib.sha256(d).hexdigest() for d in datas]


def requests_to(sandbox_client, network, suffix):
    return [r for r in sandbox_client.requests(everything=True)
            if r["network"] == network and r["path"].endswith(suffix) and r["status"] == 200]


def kill_while_held(client, cli, sandbox, sandbox_client, network, hold, post_id, release):
    """Publish, kill -9 the worker while ``hold`` holds its request, then ``release``
    the held request, start a worker again and wait until the post is done."""
    cli.start()
    sandbox_client.configure(**{network: {"hold": hold}})
    assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
    wait_for(lambda: held(sandbox, network), 30, f"a {network} request held at {hold['path']}")
    cli.kill_worker_process()
    sandbox_client.configure(**{network: release})
    cli.start()
    wait_for(all_final, 60, "the publication to reach a final state", interval=0.5)


@pytest.mark.settings(**FAST)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("network,hold,release,uploads", [
    # Between the three unpublished photos and the post, which never arrives: the photos are reused.
    ("facebook", {"path": "/feed"}, {"hold": False, "fail": {"error": "server_error"}}, "/photos"),
    # Between the image uploads and the post, which never arrives: the image URNs are reused.
    ("linkedin", {"path": "/rest/posts"}, {"hold": False, "fail": {"error": "server_error"}},
     "/rest/images"),
    # Between two carousel items: the first is reused, the held one lost with its answer.
    ("instagram", {"path": "/media", "after": 1}, {"hold": False}, None),
    # After media_publish, whose answer is lost: the container says it went out.
    ("instagram", {"path": "/media_publish"}, {"hold": False}, None),
])
def test_killing_a_worker_mid_photo_post_makes_it_once_with_every_photo_in_order(
        client, app, sandbox, sandbox_client, sandbox_channels, settings, tmp_path, network, hold, release,
        uploads, public_server):
    post_id, digests = photo_post(client, network, f"kill at {hold['path']}")
    cli = WorkerCLI(settings, tmp_path / "worker.log")
    try:
        with Reconciling(settings):
            kill_while_held(client, cli, sandbox, sandbox_client, network, hold, post_id, release)
    finally:
        cli.stop()
    with db.database.connection_context():
        [pub] = Publication.select().where(Publication.post == post_id)
    assert pub.status == "published", (pub.status, pub.last_error)
    [item] = [r for r in sandbox_client.received() if r["network"] == network]  # once
    assert item["item_id"] == pub.external_id
    if network == "instagram":
        assert len(item["images"]) == 3  # their URLs: this app's signed links, which the sandbox fetched
        assert len({i["url"] for i in item["images"]}) == 3
    else:
        assert [i["sha256"] for i in item["images"]] == digests
    if uploads:
        assert len(requests_to(sandbox_client, network, uploads)) == 3  # each photo uploaded once


@pytest.mark.settings(**FAST)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_killing_a_worker_between_the_status_commit_and_the_webhook_still_delivers_it_under_one_id(
        client, app, sandbox_channels, settings, tmp_path, broker):
    hook = Receiver()
    hook.hold.clear()  # the first request is held: the worker dies while it waits for the answer
    made = client.post("/api/webhooks", json={"url": hook.url, "events": ["post.published"]}).get_json()
    hook.secrets = [made["secret"]]
    cli = WorkerCLI(settings, tmp_path / "worker.log")
    try:
        cli.start()
        client.post("/api/posts", json={"text": "Told once", "networks": ["facebook"], "publish": True})
        [first] = hook.wait_for(1)
        started = time.monotonic()
        cli.kill_worker_process()
        hook.hold.set()
        with db.database.connection_context():
            [delivery] = WebhookDelivery.select()
            assert delivery.status == "sending"  # the status change committed; the delivery did not finish
        cli = WorkerCLI(settings, tmp_path / "worker.log")
        cli.start()
        with db.database.connection_context():  # the reconciler, once the delivery's lease has passed
            assert sending.OUTBOX.redrive(broker.get_actor("deliver_webhook").send,
                                          now=utcnow() + sending.OUTBOX.lease + dt.timedelta(seconds=1)) == 1
        second = hook.wait_for(2)[1]
        wait_for(lambda: _delivered(delivery.id), 30, "the delivery recorded as delivered")
        took = time.monotonic() - started
    finally:
        cli.stop()
        hook.close()
    assert second["id"] == first["id"] and second["verified_with"] == [0]
    assert second["body"] == first["body"]
    with db.database.connection_context():
        assert OutboxEvent.select().count() == 1
    print(f"webhook re-driven and delivered {took:.1f} s after the kill")


def _delivered(delivery_id) -> bool:
    with db.database.connection_context():
        return WebhookDelivery.get_by_id(delivery_id).status == "delivered"
