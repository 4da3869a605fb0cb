"""The claim and its fence: a row lost mid-attempt stays "may have been
delivered" however it is settled; nothing is claimed before its post's
schedule; an attempt that lost its claim cannot overwrite the newer one; and
an outcome survives the time limit landing while it is written."""
import datetime as dt

import pytest
from dramatiq.middleware.time_limit import TimeLimitExceeded

from socialpub import db
from socialpub.lifecycle import delivery, reconciler, scheduling
from socialpub.models import Attempt, Channel, ChannelState, Publication, utcnow
from socialpub.networks import Published

from tests.worker.test_adoption import post_to_feed_directly
from tests.worker.test_delivery import publications, publish_post, running_worker


def deadlines(settings):
    return delivery.Deadlines(max_age=dt.timedelta(seconds=settings.max_age_s),
                           lease=dt.timedelta(seconds=settings.processing_lease_s))


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.settings(processing_lease_s=2, time_limit_s=1)
def test_failing_a_lost_attempt_for_re_authorisation_keeps_it_ambiguous_so_a_retry_asks_first(
        client, create, sandbox, sandbox_channels, sandbox_client, broker, settings):
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)
    pub = publications(post_id)["facebook"]
    long_ago = utcnow() - dt.timedelta(minutes=10)
    with db.database.connection_context():
        # A worker claimed it long ago and died; its call did reach the page.
        Publication.update(status="processing", started_at=long_ago).where(Publication.id == pub.id).execute()
        post_to_feed_directly(sandbox, pub.text)
        # Meanwhile the page's token was refused.
        Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason="token expired").where(
            Channel.id == pub.channel_id).execute()
    with running_worker(broker, settings):
        pass
    pub = publications(post_id)["facebook"]
    assert pub.status == "failed" and "re-authorisation" in pub.last_error
    assert pub.ambiguous_since == long_ago
    assert "may have been delivered" in pub.last_error
    # The token is updated, the post retried: the network is asked, and the item adopted.
    with db.database.connection_context():
        Channel.update(state=ChannelState.ACTIVE, state_reason=None).where(Channel.id == pub.channel_id).execute()
    assert client.post(f"/api/posts/{post_id}/retry").status_code == 202
    with running_worker(broker, settings):
        pass
    pub = publications(post_id)["facebook"]
    assert pub.status == "published"
    assert len(sandbox_client.received("facebook")) == 1


@pytest.mark.settings(requeue_after_s=30)
def test_a_scheduled_post_never_leaves_early_even_when_the_reconciler_takes_it_for_lost(
        client, sandbox_channels, broker, settings, publish_actor):
    when = (utcnow() + dt.timedelta(seconds=50)).replace(microsecond=0)
    response = client.post("/api/posts", json={"text": "at its time", "networks": ["facebook", "linkedin"],
                                               "scheduled_at": when.isoformat() + "Z"})
    assert response.status_code == 201
    post_id = response.get_json()["id"]
    pubs = publications(post_id)
    assert {p.status for p in pubs.values()} == {"queued"}  # launched behind a delayed message
    with db.database.connection_context():
        # 40 s later, as the reconciler sees it: queued longer than requeue_after_s.
        Publication.update(updated_at=utcnow() - dt.timedelta(seconds=40)).where(
            Publication.post == post_id).execute()
        assert reconciler.reconcile(settings, publish_actor) == 0
        # A stray message now finds nothing to claim, and leaves the row as it is.
        for pub in pubs.values():
            assert delivery.claim(pub.id, deadlines(settings)) is None
    assert {p.status for p in publications(post_id).values()} == {"queued"}


def test_publish_now_on_a_scheduled_post_publishes_it_now(
        client, sandbox_channels, sandbox_client, drain):
    when = (utcnow() + dt.timedelta(hours=3)).replace(microsecond=0)
    post_id = client.post("/api/posts", json={"text": "changed my mind", "networks": ["facebook"],
                                              "scheduled_at": when.isoformat() + "Z"}).get_json()["id"]
    publish_post(client, post_id)
    drain()
    assert publications(post_id)["facebook"].status == "published"
    assert client.get(f"/api/posts/{post_id}").get_json()["scheduled_at"] is None


def claimed_twice(client, create, settings):
    """A publication claimed by a first attempt that then stalled past its
    lease, and claimed again by a second: both jobs."""
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)
    pub = publications(post_id)["facebook"]
    with db.database.connection_context():
        stalled = delivery.claim(pub.id, deadlines(settings))
        Publication.update(started_at=utcnow() - dt.timedelta(hours=1)).where(
            Publication.id == pub.id).execute()
        current = delivery.claim(pub.id, deadlines(settings))
    assert (stalled.attempt, current.attempt) == (1, 2)
    return pub, stalled, current


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("late_write", ["published", "retrying", "failed"])
def test_an_attempt_that_lost_its_claim_cannot_overwrite_the_newer_one(
        client, create, sandbox_channels, settings, late_write):
    from socialpub.networks import ErrorKind, PublishError

    pub, stalled, current = claimed_twice(client, create, settings)
    error = PublishError("facebook", "late words", kind=ErrorKind.TRANSIENT)
    started = utcnow()
    with db.database.connection_context():
        if late_write == "published":
            delivery.record_published(stalled, Published("late_1"), started)
        elif late_write == "retrying":
            delivery.record_retry(stalled, error, started, utcnow())
        else:
            delivery.record_final(stalled, "failed", error, started)
        row = Publication.get_by_id(pub.id)
        assert (row.status, row.attempts, row.external_id) == ("processing", 2, None)
        [attempt] = Attempt.select().where(Attempt.publication == pub.id)
        assert (attempt.number, attempt.outcome) == (1, "superseded")
        # The attempt that holds the claim records its outcome.
        delivery.record_published(current, Published("current_1"), started)
        row = Publication.get_by_id(pub.id)
    assert (row.status, row.external_id) == ("published", "current_1")


def test_an_outcome_survives_the_time_limit_landing_while_it_is_written(
        client, create, sandbox_channels, settings, app):
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)
    pub = publications(post_id)["facebook"]
    with db.database.connection_context():
        job = delivery.claim(pub.id, deadlines(settings))
    interrupted = []

    def record_then_interrupted(*args, **kwargs):
        # The interrupt lands just after the transaction committed.
        delivery.record_published(*args, **kwargs)
        if not interrupted:
            interrupted.append(True)
            raise TimeLimitExceeded()

    db.persist(record_then_interrupted, job, Published("fb_1"), utcnow())
    row = publications(post_id)["facebook"]
    assert (row.status, row.external_id) == ("published", "fb_1")
    with db.database.connection_context():
        assert [a.outcome for a in Attempt.select().where(Attempt.publication == pub.id)] == ["published"]


def test_an_outcome_survives_the_time_limit_landing_before_the_commit(
        client, create, sandbox_channels, settings):
    post_id = create(networks=["facebook"])
    publish_post(client, post_id)
    pub = publications(post_id)["facebook"]
    with db.database.connection_context():
        job = delivery.claim(pub.id, deadlines(settings))
    calls = []

    def interrupted_inside(*args, **kwargs):
        calls.append(True)
        with db.write_transaction():
            Publication.update(last_error="half-written").where(Publication.id == pub.id).execute()
            if len(calls) == 1:
                raise TimeLimitExceeded()  # rolled back
        delivery.record_published(*args, **kwargs)

    db.persist(interrupted_inside, job, Published("fb_2"), utcnow())
    row = publications(post_id)["facebook"]
    assert (row.status, row.external_id, len(calls)) == ("published", "fb_2", 2)


def test_start_up_refuses_settings_that_cannot_work():
    from socialpub.config import Settings

    with pytest.raises(SystemExit, match="SOCIALPUB_MAX_AGE_S"):
        Settings.from_env({"SOCIALPUB_MAX_AGE_S": "60"})
    with pytest.raises(SystemExit, match="SOCIALPUB_MIN_BACKOFF_MS"):
        Settings.from_env({"SOCIALPUB_MIN_BACKOFF_MS": "9000", "SOCIALPUB_MAX_BACKOFF_MS": "1000"})
    assert scheduling.HORIZON.total_seconds() < Settings.from_env({}).max_age_s
