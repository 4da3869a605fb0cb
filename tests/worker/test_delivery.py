"""Delivery guarantees with an in-process worker: error classes decide
retries, rate limits are waited out, token errors flag the channel, old work
expires, ambiguous outcomes are checked with the network before sending again,
and the reconciler re-drives what the queue lost — each item sent once."""
import contextlib
import datetime as dt
import threading

import dramatiq
import pytest

from socialpub import db
from socialpub.lifecycle import reconciler
from socialpub.models import Attempt, Channel, Publication, utcnow

NETWORKS = ["facebook", "instagram", "linkedin", "whatsapp"]


@contextlib.contextmanager
def running_worker(broker, settings):
    """A worker started only now (for tests that change rows before any worker
    may see them), drained and stopped on exit."""
    worker = dramatiq.Worker(broker, worker_threads=8, worker_timeout=100)
    worker.start()
    try:
        yield worker
        broker.join(settings.queue_name, timeout=60_000)
        worker.join()
    finally:
        worker.stop()


def publish_post(client, post_id):
    response = client.post(f"/api/posts/{post_id}/publish")
    assert response.status_code == 202, response.get_json()


def publications(post_id=None):
    with db.database.connection_context():
        query = Publication.select().order_by(Publication.id)
        if post_id is not None:
            query = query.where(Publication.post == post_id)
        return {p.network if post_id else p.id: p for p in query}


def item_creating_requests(sandbox_client, network):
    paths = {"facebook": ("/feed", "/photos"), "instagram": ("/media_publish",),
             "linkedin": ("/rest/posts",), "whatsapp": ("/messages",)}[network]
    return [r for r in sandbox_client.requests() if r["network"] == network
            and r["method"] == "POST" and r["path"].endswith(paths)]


def assert_each_received_once(sandbox_client, expected):
    received = sandbox_client.received()
    texts = sorted((r["network"], r["text"]) for r in received)
    assert len(texts) == len(set(texts)), f"duplicates: {texts}"
    assert len(received) == expected, received


def test_a_token_error_fails_at_once_and_flags_the_channel(
        client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(facebook={"fail": {"error": "token", "times": 1}})
    first = create(networks=["facebook"])
    publish_post(client, first)
    drain()
    pub = publications(first)["facebook"]
    assert pub.status == "failed" and pub.attempts == 1
    assert "Error validating access token" in pub.last_error or "token" in pub.last_error.lower()
    assert len(item_creating_requests(sandbox_client, "facebook")) == 1  # not retried
    with db.database.connection_context():
        channel = Channel.get_by_id(sandbox_channels["facebook"])
    assert channel.state == "needs_reauth" and channel.state_reason == pub.last_error

    # The channel's next publication fails fast without a call to the network.
    second = create(networks=["facebook"])
    publish_post(client, second)
    drain()
    pub = publications(second)["facebook"]
    assert pub.status == "failed" and "needs re-authorisation" in pub.last_error
    assert len(item_creating_requests(sandbox_client, "facebook")) == 1
    retry = client.post(f"/api/posts/{second}/retry")
    assert retry.status_code == 409 and "re-authorisation" in retry.get_json()["error"]["message"]


def test_a_permanent_error_is_not_retried(client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(whatsapp={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = create(networks=["whatsapp"])
    publish_post(client, post_id)
    drain()
    pub = publications(post_id)["whatsapp"]
    assert pub.status == "failed" and pub.attempts == 1 and pub.last_error
    assert len(item_creating_requests(sandbox_client, "whatsapp")) == 1


@pytest.mark.settings(max_retries=8, max_rate_limit_waits=8, min_backoff_ms=20, max_backoff_ms=100)
def test_transient_failures_and_rate_limits_all_end_published_once(
        client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(**{n: {"fail": [{"error": "server_error", "rate": 0.3},
                                             {"error": "rate_limit", "rate": 0.1, "retry_after": 1,
                                              "minutes": 0}]}
                                for n in NETWORKS})
    posts = [create() for _ in range(8)]
    for post_id in posts:
        publish_post(client, post_id)
    drain(timeout_ms=120_000)
    pubs = publications()
    assert {p.status for p in pubs.values()} == {"published"}
    assert_each_received_once(sandbox_client, 32)
    # Every wait after a rate limit that named a delay lasted at least that long.
    with db.database.connection_context():
        rows = list(Attempt.select().order_by(Attempt.publication, Attempt.number))
    failures = sum(1 for a in rows if a.outcome == "retrying")
    assert failures > 0, "the sandbox injected no failure: the test proves nothing"
    for before, after in zip(rows, rows[1:]):
        if before.publication_id == after.publication_id and before.error_code == "429":
            assert (after.started_at - before.finished_at).total_seconds() >= 0.95


@pytest.mark.settings(max_age_s=60)
def test_a_publication_queued_too_long_ago_expires_instead_of_going_out(
        client, create, sandbox_channels, sandbox_client, broker, settings):
    post_id = create(networks=["facebook", "linkedin"])
    publish_post(client, post_id)
    with db.database.connection_context():
        (Publication.update(enqueued_at=utcnow() - dt.timedelta(hours=2))
         .where(Publication.post == post_id).execute())
    with running_worker(broker, settings):
        pass
    pubs = publications(post_id)
    assert {p.status for p in pubs.values()} == {"expired"}
    assert "not published within" in pubs["facebook"].last_error
    assert sandbox_client.received() == []
    assert client.get(f"/api/posts/{post_id}/status").get_json()["status"] == "failed"


@pytest.mark.settings(max_age_s=60)
def test_a_message_dramatiq_finds_too_old_marks_the_publication_expired(
        client, create, sandbox_channels, sandbox_client, broker, settings, publish_actor):
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)
    broker.flush_all()  # the original message is gone; an old one arrives instead
    pub = publications(post_id)["facebook"]
    with db.database.connection_context():  # the row is as old as its message
        (Publication.update(enqueued_at=utcnow() - dt.timedelta(minutes=2))
         .where(Publication.id == pub.id).execute())
    old = publish_actor.message(pub.id).copy(message_timestamp=int((utcnow().timestamp() - 120) * 1000))
    broker.enqueue(old)
    with running_worker(broker, settings):
        pass
    pub = publications(post_id)["facebook"]
    assert pub.status == "expired" and pub.attempts == 0
    assert sandbox_client.received() == []


@pytest.mark.parametrize("network", NETWORKS)
def test_an_answer_lost_after_the_network_recorded_the_item_is_never_sent_twice(
        client, create, sandbox_channels, sandbox_client, drain, network):
    sandbox_client.configure(**{network: {"fail": {"error": "drop_after_record", "times": 1}}})
    post_id = create(networks=[network])
    publish_post(client, post_id)
    drain()
    pub = publications(post_id)[network]
    assert len(sandbox_client.received(network)) == 1
    if network == "whatsapp":
        # No way to ask WhatsApp: a person decides.
        assert pub.status == "unconfirmed" and "no status came from Meta" in pub.last_error
        assert "unexpected" not in pub.last_error
        assert len(item_creating_requests(sandbox_client, network)) <= 1
    else:
        assert pub.status == "published" and pub.external_id
        with db.database.connection_context():
            outcomes = [a.outcome for a in Attempt.select().where(Attempt.publication == pub.id)
                        .order_by(Attempt.number)]
        assert outcomes[0] == "retrying" and outcomes[-1] in ("adopted", "published")


@pytest.mark.settings(requeue_after_s=1, processing_lease_s=2, time_limit_s=1)
def test_two_reconcilers_at_once_re_drive_lost_work_once(
        client, create, sandbox_channels, sandbox_client, broker, settings, publish_actor):
    posts = [create() for _ in range(3)]
    for post_id in posts:
        publish_post(client, post_id)
    broker.flush_all()  # Redis lost every message
    past = utcnow() - dt.timedelta(minutes=10)
    with db.database.connection_context():
        Publication.update(updated_at=past).execute()
        # One publication's worker died mid-attempt.
        first = min(publications())
        Publication.update(status="processing", started_at=past).where(Publication.id == first).execute()

    barrier = threading.Barrier(2)
    sent = []

    def sweep():
        with db.database.connection_context():
            barrier.wait()
            sent.append(reconciler.reconcile(settings, publish_actor))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sent) == 12, sent

    with running_worker(broker, settings):
        pass
    assert {p.status for p in publications().values()} == {"published"}
    assert_each_received_once(sandbox_client, 12)
    # The orphaned attempt was treated as ambiguous: the page's feed was searched first.
    feed_reads = [r for r in sandbox_client.requests(everything=True)
                  if r["method"] == "GET" and r["path"].endswith("/feed")]
    assert len(feed_reads) == 1


@pytest.mark.settings(max_age_s=60)
def test_a_stale_old_message_does_not_expire_a_publication_queued_again_since(
        client, create, sandbox_channels, sandbox_client, broker, settings, publish_actor):
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)  # a fresh row, and a fresh message for it
    pub = publications(post_id)["facebook"]
    broker.enqueue(publish_actor.message(pub.id).copy(
        message_timestamp=int((utcnow().timestamp() - 120) * 1000)))
    with running_worker(broker, settings):
        pass
    assert publications(post_id)["facebook"].status == "published"
    assert len(sandbox_client.received()) == 1


@pytest.mark.settings(requeue_after_s=300)
def test_a_re_driven_publication_gets_time_for_its_new_message_before_another_is_sent(
        client, create, sandbox_channels, broker, settings, publish_actor):
    post_id = create(networks=["facebook", "linkedin"])
    publish_post(client, post_id)
    broker.flush_all()  # the messages are lost; no worker runs (a backlog, say)
    past = utcnow() - dt.timedelta(minutes=10)
    with db.database.connection_context():
        pubs = publications(post_id)
        Publication.update(status="retrying", next_attempt_at=past, updated_at=past).where(
            Publication.id == pubs["facebook"].id).execute()
        Publication.update(status="processing", started_at=past, updated_at=past).where(
            Publication.id == pubs["linkedin"].id).execute()
        assert reconciler.reconcile(settings, publish_actor) == 2
        # The next sweeps, a minute apart, leave them to the messages just sent.
        assert reconciler.reconcile(settings, publish_actor) == 0
    assert broker.client.llen(f"dramatiq:{settings.queue_name}") == 2


@pytest.mark.settings(max_age_s=600)
def test_a_rate_limit_longer_than_the_maximum_age_expires_the_publication_at_once(
        client, create, sandbox_channels, sandbox_client, drain):
    # Facebook says: come back in 90 minutes; a publication may wait 10.
    sandbox_client.configure(facebook={"fail": {"error": "rate_limit", "minutes": 90, "times": 1}})
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)
    drain()
    pub = publications(post_id)["facebook"]
    assert pub.status == "expired" and pub.attempts == 1
    assert "later than the 600 s a publication may wait" in pub.last_error
    assert len(item_creating_requests(sandbox_client, "facebook")) == 1


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.settings(max_age_s=60, processing_lease_s=2, time_limit_s=1)
def test_expiring_a_publication_whose_worker_died_mid_attempt_keeps_it_ambiguous(
        client, create, sandbox_channels, sandbox_client, broker, settings, publish_actor):
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)
    pub = publications(post_id)["facebook"]
    long_ago = utcnow() - dt.timedelta(minutes=10)
    with db.database.connection_context():  # a worker claimed it long ago, then died
        Publication.update(status="processing", started_at=long_ago, enqueued_at=long_ago).where(
            Publication.id == pub.id).execute()
    with running_worker(broker, settings):
        pass
    pub = publications(post_id)["facebook"]
    assert pub.status == "expired"
    assert pub.ambiguous_since == long_ago
    assert "may have been delivered: check before retrying" in pub.last_error
    assert sandbox_client.received() == []
    # Retried by hand, the network is asked first (the page's feed), then it is sent once.
    assert client.post(f"/api/posts/{post_id}/retry").status_code == 202
    with running_worker(broker, settings):
        pass
    assert publications(post_id)["facebook"].status == "published"
    feed_reads = [r for r in sandbox_client.requests(everything=True)
                  if r["method"] == "GET" and r["path"].endswith("/feed")]
    assert len(feed_reads) == 1
    assert len(sandbox_client.received("facebook")) == 1
