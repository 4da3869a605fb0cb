"""Cancelling a scheduled post around its time, with workers running: a
cancel wins until a worker claims one of the post's publications (the moment
before its network call), and after that it is refused naming the networks
that have started — never a cancelled post on a network, never a cancel
refused before any call started."""
import datetime as dt
import threading

from socialpub import db
from socialpub.models import Publication, utcnow

#: Seconds from each post's time at which its cancel is sent: before, at and after it.
OFFSETS = (-0.6, -0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4, 0.6, 1.0)


def test_a_cancel_before_any_network_call_wins_and_a_later_one_is_refused_naming_the_networks(
        client, sandbox_channels, sandbox_client, drain):
    start = utcnow() + dt.timedelta(seconds=3)
    posts = []
    for i, offset in enumerate(OFFSETS):
        at = start + dt.timedelta(seconds=i * 0.3)
        answer = client.post("/api/posts", json={
            "text": f"race {i}", "networks": ["facebook", "linkedin"],
            "scheduled_at": at.replace(tzinfo=dt.timezone.utc).isoformat()})
        assert answer.status_code == 201, answer.get_json()
        posts.append((answer.get_json()["id"], at, offset))
    answers = {}

    def cancel_at(post_id, when):
        # The point of the test is the wall-clock instant of the cancel.
        threading.Event().wait(max(0.0, (when - utcnow()).total_seconds()))
        answers[post_id] = (utcnow(), client.post(f"/api/posts/{post_id}/cancel"))

    threads = [threading.Thread(target=cancel_at, args=(post_id, at + dt.timedelta(seconds=offset)))
               for post_id, at, offset in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    drain()
    received = {r["text"] for r in sandbox_client.received()}
    honoured = refused = 0
    for i, (post_id, at, offset) in enumerate(posts):
        sent_at, answer = answers[post_id]
        with db.database.connection_context():
            claimed = [p.network for p in Publication.select().where(
                (Publication.post == post_id) & (Publication.attempts > 0))]
        if answer.status_code == 200:
            honoured += 1
            assert f"race {i}" not in received, f"cancelled post {post_id} reached a network"
            assert not claimed and answer.get_json()["status"] == "draft"
        else:
            refused += 1
            assert answer.status_code == 409, answer.get_json()
            assert claimed, f"the cancel of post {post_id} was refused before any network call started"
            assert "publishing started on" in answer.get_json()["error"]["message"]
            assert f"race {i}" in received
        if sent_at < at:  # nothing is claimed before its time: a cancel sent before it always wins
            assert answer.status_code == 200, (offset, answer.get_json())
    print(f"\ncancels around the time: {honoured} honoured, {refused} refused after a network call started")
    assert honoured >= sum(1 for o in OFFSETS if o < 0)
