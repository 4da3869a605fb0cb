"""The audit trail: who created, edited, scheduled, cancelled, published,
retried and deleted a post, and what happened on each network, on the post
page and as GET /api/posts/<id>/events; channel changes likewise."""
from __future__ import annotations

import datetime as dt

from socialpub import db
from socialpub.models import Event, utcnow

from tests.conftest import TEST_EMAIL


def months_ahead(months: int) -> str:
    return (utcnow() + dt.timedelta(days=30 * months)).strftime("%Y-%m-%dT10:00:00Z")


def actions(client, post_id) -> list:
    response = client.get(f"/api/posts/{post_id}/events")
    assert response.status_code == 200, response.get_json()
    return [(e["action"], e["actor"], e["detail"].get("network")) for e in response.get_json()["items"]]


def test_a_posts_life_is_recorded_with_who_did_each_step(client, member, sandbox_channels, sandbox_client, drain):
    editor = member("editor")
    post_id = editor.post("/api/posts", json={"text": "Audited", "networks": ["facebook", "linkedin"]}) \
        .get_json()["id"]
    assert editor.patch(f"/api/posts/{post_id}", json={"text": "Audited, edited"}).status_code == 200
    scheduled = editor.patch(f"/api/posts/{post_id}", json={"scheduled_at": months_ahead(2)})
    assert scheduled.status_code == 200
    assert client.post(f"/api/posts/{post_id}/cancel").status_code == 200
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    assert editor.post(f"/api/posts/{post_id}/publish").status_code == 202
    drain()
    assert client.post(f"/api/posts/{post_id}/retry").status_code == 202
    drain()
    trail = actions(client, post_id)
    assert trail[:5] == [
        ("created", editor.email, None),
        ("edited", editor.email, None),
        ("scheduled", editor.email, None),
        ("cancelled", TEST_EMAIL, None),
        ("publish requested", editor.email, None),
    ]
    # The two networks answered in either order.
    assert set(trail[5:7]) == {("published", "socialpub", "facebook"), ("failed", "socialpub", "linkedin")}
    assert trail[7:] == [("retried", TEST_EMAIL, None), ("published", "socialpub", "linkedin")]
    events = client.get(f"/api/posts/{post_id}/events").get_json()["items"]
    failed = next(e for e in events if e["action"] == "failed")
    assert failed["detail"]["error"] and failed["detail"]["channel"] == sandbox_channels["linkedin"]
    assert next(e for e in events if e["action"] == "edited")["detail"] == {"fields": ["text"]}
    # The post page shows the same history.
    page = client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert 'id="trail"' in page and f"<strong>{editor.email}</strong> created" in page
    assert "<strong>socialpub</strong> published on LinkedIn" in page


def test_scheduling_a_draft_and_deleting_it_are_recorded_and_the_trail_outlives_the_post(client, sandbox_channels):
    when = months_ahead(3)
    post_id = client.post("/api/posts", json={"text": "Short-lived", "networks": ["facebook"],
                                              "scheduled_at": when}).get_json()["id"]
    assert client.delete(f"/api/posts/{post_id}").status_code == 204
    assert actions(client, post_id) == [("created", TEST_EMAIL, None), ("deleted", TEST_EMAIL, None)]
    created = client.get(f"/api/posts/{post_id}/events").get_json()["items"][0]
    assert created["detail"]["status"] == "scheduled" and created["detail"]["scheduled_at"][:19] == when[:19]
    assert client.get("/api/posts/999999/events").status_code == 404


def test_a_duplicate_says_where_it_came_from(client, sandbox_channels):
    post_id = client.post("/api/posts", json={"text": "Original", "networks": ["facebook"]}).get_json()["id"]
    copy_id = client.post(f"/api/posts/{post_id}/duplicate").get_json()["id"]
    assert actions(client, copy_id) == [("created", TEST_EMAIL, None), ("duplicated", TEST_EMAIL, None)]
    assert client.get(f"/api/posts/{copy_id}/events").get_json()["items"][1]["detail"] == {"source": post_id}


def test_a_scheduled_launch_is_socialpubs_own_step(client, sandbox_channels, drain):
    # A second ahead: launched at once (before the next sweep), to leave at its time.
    soon = (utcnow() + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    post_id = client.post("/api/posts", json={"text": "Launched", "networks": ["facebook"],
                                              "scheduled_at": soon}).get_json()["id"]
    drain()
    assert actions(client, post_id) == [("created", TEST_EMAIL, None), ("publishing started", "socialpub", None),
                                        ("published", "socialpub", "facebook")]


def test_channel_changes_and_a_refused_token_are_in_the_channels_trail(
        client, sandbox_channels, sandbox_client, drain):
    channel_id = sandbox_channels["facebook"]
    assert client.put(f"/api/channels/{channel_id}/queue",
                      json={"zone": "UTC", "slots": [{"weekday": "mon", "time": "09:00"}]}).status_code == 200
    sandbox_client.configure(facebook={"fail": {"error": "token"}})
    client.post("/api/posts", json={"text": "Token refused", "networks": ["facebook"], "publish": True})
    drain()
    trail = client.get(f"/api/channels/{channel_id}/events").get_json()["items"]
    assert [(e["action"], e["actor"]) for e in trail] == [
        ("created", "socialpub"), ("posting times changed", TEST_EMAIL), ("needs re-authorisation", "socialpub")]
    assert trail[1]["detail"] == {"slots": 1}


def test_a_viewer_reads_a_posts_trail_but_not_a_users_or_a_channels(client, member, sandbox_channels):
    viewer, editor = member("viewer"), member("editor")
    post_id = client.post("/api/posts", json={"text": "Seen", "networks": ["facebook"]}).get_json()["id"]
    assert viewer.get(f"/api/posts/{post_id}/events").status_code == 200
    assert viewer.get(f"/api/users/{viewer.user_id}/events").status_code == 403
    # Who connected it, when its token changed, whose consent its contacts gave: for admins, as docs/team.md says.
    channel_events = f"/api/channels/{sandbox_channels['facebook']}/events"
    assert viewer.get(channel_events).status_code == editor.get(channel_events).status_code == 403
    assert client.get(channel_events).status_code == 200


def test_the_trail_is_written_in_the_changes_transaction(client, sandbox_channels):
    # A refused edit changes nothing, and writes no line either.
    post_id = client.post("/api/posts", json={"text": "Kept", "networks": ["facebook"]}).get_json()["id"]
    refused = client.patch(f"/api/posts/{post_id}", json={"text": ""})
    assert refused.status_code in (400, 422)
    with db.database.connection_context():
        assert [e.action for e in Event.select().where(Event.subject == "post", Event.subject_id == post_id)] == [
            "created"]
