"""A channel's spacing and quotas, kept before the network call: posts over
Instagram's publishing limit wait for the window to free and go then, never
failing; a backlog of one channel leaves at its spacing, never faster; a
waiting post says why and until when, and can still be cancelled."""
import dataclasses
import datetime as dt

import pytest

from socialpub import db
from socialpub.lifecycle import pacing, scheduling
from socialpub.models import Post, Publication, QuotaUse, utcnow
from tests.support.processes import wait_for

#: The sandbox's Instagram limit in these tests: three posts in any four seconds.
QUOTA, WINDOW_S = 3, 4
#: Posts of the restored backlog.
BACKLOG = 8


def publish_now(client, create, networks, count, **fields):
    ids = [create(networks=networks, text=f"paced {i} {utcnow().isoformat()}", **fields) for i in range(count)]
    for post_id in ids:
        assert client.post(f"/api/posts/{post_id}/publish").status_code in (200, 202)
    return ids


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_over_instagrams_publishing_limit_posts_wait_for_the_window_and_go_then_none_failing(
        client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(instagram={"publishing_limit": {"quota_total": QUOTA, "quota_duration": WINDOW_S}})
    ids = publish_now(client, create, ["instagram"], 5)

    def waiting():
        with db.database.connection_context():
            return list(Publication.select().where(Publication.post.in_(ids) & (Publication.status == "queued")
                                                   & Publication.next_attempt_at.is_null(False)))
    wait_for(lambda: len(waiting()) == 2, 20, "two posts waiting for Instagram's window")
    for publication in waiting():
        assert "Instagram posts: 3 of 3 in the last 4 s; goes out at" in publication.last_error
        assert publication.attempts == 0  # waiting for its place is no attempt
        status = client.get(f"/api/posts/{publication.post_id}/status").get_json()
        assert status["changeable"] is False or status["status"] == "publishing"
    drain()
    with db.database.connection_context():
        statuses = [p.status for p in Publication.select().where(Publication.post.in_(ids))]
        assert statuses == ["published"] * 5, statuses
    times = sorted(r["finished_at"] for r in sandbox_client.received("instagram"))
    assert len(times) == 5
    # No four-second window ever held more than three posts at Meta, which refused none.
    assert all(times[i + QUOTA] - times[i] >= WINDOW_S - 0.05 for i in range(len(times) - QUOTA))
    assert not [r for r in sandbox_client.requests() if "content_publishing_limit" not in r.get("path", "")
                and r.get("network") == "instagram"]


@pytest.mark.settings(channel_min_gap_s=1)
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_backlog_of_one_channel_made_due_at_once_leaves_at_its_spacing_never_faster(
        client, create, sandbox_channels, sandbox_client, drain):
    """A calendar restored after an outage: eight posts of one channel, all overdue at
    once, launched by one sweep — they leave a gap apart, none failing."""
    later = (utcnow() + dt.timedelta(days=1)).replace(tzinfo=dt.timezone.utc).isoformat()
    ids = [create(networks=["facebook"], text=f"backlog {i}", scheduled_at=later) for i in range(BACKLOG)]
    with db.database.connection_context():
        Post.update(scheduled_at=utcnow() - dt.timedelta(minutes=5)).where(Post.id.in_(ids)).execute()
        assert scheduling.sweep(dt.timedelta(hours=1)) == BACKLOG
    drain()
    with db.database.connection_context():
        assert {p.status for p in Publication.select().where(Publication.post.in_(ids))} == {"published"}
        places = sorted(at for (at,) in QuotaUse.select(QuotaUse.at).where(QuotaUse.quota == pacing.SPACING).tuples())
    # The places the ledger gave are a gap apart, to the microsecond; the calls follow each
    # place after the same work (reading the photo), so they arrive a gap apart give or take that work —
    # which, on a two-core CI machine busy with the rest of the suite, varies by up to a quarter second.
    assert len(places) == BACKLOG and min((b - a).total_seconds() for a, b in zip(places, places[1:])) >= 1
    starts = sorted(r["started_at"] for r in sandbox_client.received("facebook"))
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    print(f"\ngaps between the backlog's posts at the network: {', '.join(f'{g:.2f}' for g in gaps)} s")
    assert len(starts) == BACKLOG and min(gaps) >= 1 - 0.25


def test_the_earliest_place_keeps_the_gap_and_every_window():
    now = dt.datetime(2027, 1, 4, 9, 0, 0)
    s = dt.timedelta(seconds=1)
    places = {pacing.SPACING: [now - 30 * s, now + 60 * s]}
    # The gap of a minute: not now (30 s after one), not between the two (they are 90 s apart): after the second.
    at, reason = pacing._earliest(now, 60 * s, [], places)
    assert at == now + 120 * s and reason == "posts of this channel are at least 1 min apart"
    # Three an hour, three in the last hour: when the oldest leaves it.
    hourly = pacing.Limit(pacing.SPACING, 3, pacing.HOUR, "posts of this channel", "the last hour")
    places = {pacing.SPACING: [now - 50 * 60 * s, now - 20 * 60 * s, now - 60 * s]}
    at, reason = pacing._earliest(now, 0 * s, [hourly], places)
    assert at == now + 10 * 60 * s and reason == "posts of this channel: 3 of 3 in the last hour"
    # Posts made elsewhere, counted by Meta at its reading, hold places until a window after it.
    meta = dataclasses.replace(pacing.counted_by_network(pacing.INSTAGRAM_POSTS, 2, pacing.DAY, "Instagram posts"),
                               others=2, others_at=now - 5 * s)
    at, reason = pacing._earliest(now, 0 * s, [meta], {})
    # A window the network counts is kept five minutes longer: a post never reaches it early.
    assert at == now - 5 * s + pacing.DAY + 5 * 60 * s and reason == "Instagram posts: 2 of 2 in the last 24 h"


def test_a_waiting_post_can_still_be_cancelled_and_its_place_is_void(
        client, create, sandbox_channels, sandbox_client, worker):
    sandbox_client.configure(instagram={"publishing_limit": {"quota_total": 1, "quota_duration": 3600}})
    ids = publish_now(client, create, ["instagram"], 2)

    def waiting_one():
        with db.database.connection_context():
            return Publication.select().where(Publication.post.in_(ids) & (Publication.status == "queued")
                                              & Publication.next_attempt_at.is_null(False)).first()
    wait_for(lambda: waiting_one() is not None, 20, "one post waiting for its place")
    waiting = waiting_one()
    cancelled = client.post(f"/api/posts/{waiting.post_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "draft", cancelled.get_json()
    with db.database.connection_context():
        assert Publication.get_by_id(waiting.id).status == "pending"
        # Its place is void once it no longer waits: the next post is counted against the other alone.
        assert len(pacing._places(waiting.channel_id, utcnow())[pacing.INSTAGRAM_POSTS]) == 1
        assert QuotaUse.select().where(QuotaUse.publication == waiting.id).exists()
    other = next(i for i in ids if i != waiting.post_id)
    assert [r["text"] for r in sandbox_client.received("instagram")] == [
        client.get(f"/api/posts/{other}").get_json()["text"]]


def test_a_channels_quotas_and_spacing_are_shown_before_sending_and_a_spacing_that_cannot_work_is_refused(
        client, form_client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(instagram={"publishing_limit": {"quota_total": 50, "quota_duration": 86400}})
    publish_now(client, create, ["instagram"], 2)
    drain()
    instagram = sandbox_channels["instagram"]
    used = client.get(f"/api/channels/{instagram}/quotas").get_json()
    [posts] = [q for q in used["quotas"] if q["quota"] == "instagram_posts"]
    assert (posts["used"], posts["most"], posts["period"]) == (2, 50, "the last 24 h")
    compose = form_client.get("/compose").get_data(as_text=True)
    assert "Instagram posts: 2 of 50 in the last 24 h — this would be 3 of 50" in compose
    # A channel's own spacing: set, shown, and one that cannot work refused naming its field.
    refused = form_client.post(f"/channels/{instagram}/edit", data={
        "name": "Sandbox Instagram", "account_id": "17841405822304914", "enabled": "1", "max_per_hour": "0"})
    assert refused.status_code == 422
    assert "The most posts it takes in an hour, a whole number from 1" in refused.get_data(as_text=True)
    saved = form_client.post(f"/channels/{instagram}/edit", data={
        "name": "Sandbox Instagram", "account_id": "17841405822304914", "enabled": "1", "min_gap_s": "300",
        "max_per_hour": "4"})
    assert saved.status_code == 302
    shown = client.get(f"/api/channels/{instagram}").get_json()
    assert (shown["min_gap_s"], shown["max_per_hour"]) == (300, 4)
    after = client.get(f"/api/channels/{instagram}/quotas").get_json()
    assert after["min_gap_s"] == 300 and after["next_free_at"] > used["next_free_at"]


@pytest.mark.settings(max_rate_limit_waits=1)
def test_linkedins_daily_limit_is_learned_from_its_429s_and_a_post_past_it_waits_for_midnight(
        client, create, sandbox_channels, sandbox_client, worker):
    sandbox_client.configure(linkedin={"daily_posts": 2})
    ids = publish_now(client, create, ["linkedin"], 3)

    def settled():
        with db.database.connection_context():
            return sorted(p.status for p in Publication.select().where(Publication.post.in_(ids)))
    wait_for(lambda: settled() == ["published", "published", "queued"], 30, "two published and one waiting")
    with db.database.connection_context():
        waiting = Publication.get(Publication.post.in_(ids) & (Publication.status == "queued"))
    midnight = dt.datetime.combine(utcnow().date() + dt.timedelta(days=1), dt.time())
    assert waiting.next_attempt_at == midnight
    assert waiting.last_error == "LinkedIn posts: 2 of 2 today (UTC); goes out at 00:00 UTC"
    assert len(sandbox_client.received("linkedin")) == 2


def test_an_admin_sets_a_channels_spacing_through_the_api_and_null_takes_the_setting_again(
        client, sandbox_channels):
    channel = sandbox_channels["linkedin"]
    changed = client.patch(f"/api/channels/{channel}", json={"min_gap_s": 120, "max_per_hour": 6})
    assert changed.status_code == 200 and (changed.get_json()["min_gap_s"], changed.get_json()["max_per_hour"]) == (
        120, 6)
    refused = client.patch(f"/api/channels/{channel}", json={"max_per_hour": 0})
    assert refused.status_code == 400 and refused.get_json()["error"]["field"] == "max_per_hour"
    back = client.patch(f"/api/channels/{channel}", json={"min_gap_s": None}).get_json()
    assert (back["min_gap_s"], back["max_per_hour"]) == (None, 6)
