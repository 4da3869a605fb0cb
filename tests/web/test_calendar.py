"""The calendar's JSON and its move endpoint: the posts of a window (scheduled
ones at their time, those published without a schedule when asked), the
latest drafts beside them, a window too wide or malformed refused naming the
field, and a move that goes through scheduling (409 once it went out)."""
import datetime as dt

from socialpub import db
from socialpub.models import Post, utcnow

from tests.web.test_editing import iso_in


def window(days_before=1, days_after=40):
    now = utcnow()
    start = (now - dt.timedelta(days=days_before)).isoformat() + "Z"
    end = (now + dt.timedelta(days=days_after)).isoformat() + "Z"
    return {"from": start, "to": end}


def test_the_calendar_lists_the_windows_posts_at_their_time_and_the_drafts(client, sandbox_channels,
                                                                         publish_and_drain):
    scheduled = client.post("/api/posts", json={"text": "Next week", "networks": ["facebook", "linkedin"],
                                                "scheduled_at": iso_in(7 * 24 * 60)}).get_json()["id"]
    far = client.post("/api/posts", json={"text": "Too far", "networks": ["facebook"],
                                          "scheduled_at": iso_in(60 * 24 * 60)}).get_json()["id"]
    draft = client.post("/api/posts", json={"text": "No time yet", "networks": ["facebook"]}).get_json()["id"]
    published = publish_and_drain(networks=["facebook"])
    body = client.get("/api/calendar", query_string=window()).get_json()
    items = {i["id"]: i for i in body["items"]}
    assert set(items) == {scheduled, published} and far not in items
    assert items[scheduled]["movable"] and not items[published]["movable"]
    assert sorted(c["network"] for c in items[scheduled]["channels"]) == ["facebook", "linkedin"]
    with db.database.connection_context():
        assert items[scheduled]["at"] == Post.get_by_id(scheduled).scheduled_at.isoformat() + "+00:00"
    assert [d["id"] for d in body["drafts"]] == [draft] and body["drafts"][0]["at"] is None
    assert body["truncated"] is False


def test_a_bad_window_is_refused_naming_the_field(client):
    assert client.get("/api/calendar").get_json()["error"]["field"] == "from"
    naive = client.get("/api/calendar", query_string={"from": "2026-12-01T00:00:00", "to": "2026-12-02T00:00:00Z"})
    assert naive.status_code == 400 and "offset" in naive.get_json()["error"]["message"]
    wide = client.get("/api/calendar", query_string=window(0, 100))
    assert wide.status_code == 400 and wide.get_json()["error"]["field"] == "to"


def move(form_client, **body):
    token = form_client.get("/calendar").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    return form_client.post("/calendar/move", json=body, headers={"X-CSRFToken": token})


def test_moving_a_post_on_the_calendar_schedules_it_at_the_viewers_time(form_client, client, sandbox_channels):
    draft = client.post("/api/posts", json={"text": "Drag me", "networks": ["facebook"]}).get_json()["id"]
    local = (utcnow() + dt.timedelta(days=3)).strftime("%Y-%m-%dT09:00")
    moved = move(form_client, post_id=draft, scheduled_at=local, timezone="Europe/Madrid")
    assert moved.status_code == 200, moved.get_json()
    post = client.get(f"/api/posts/{draft}").get_json()
    assert post["status"] == "scheduled" and post["timezone"] == "Europe/Madrid"
    assert post["scheduled_at"].startswith(local)  # shown back in the viewer's zone
    past = move(form_client, post_id=draft, scheduled_at="2020-01-01T09:00", timezone="UTC")
    assert past.status_code == 422 and past.get_json()["error"]["field"] == "scheduled_at"
    assert move(form_client, post_id="x", scheduled_at=local, timezone="UTC").get_json()["error"]["field"] == "post_id"


def test_a_post_that_went_out_cannot_be_moved(form_client, sandbox_channels, publish_and_drain):
    published = publish_and_drain(networks=["facebook"])
    refused = move(form_client, post_id=published, scheduled_at=iso_in(60)[:16], timezone="UTC")
    assert refused.status_code == 409


def test_the_calendars_plus_opens_the_compose_form_at_that_time(form_client, sandbox_channels):
    page = form_client.get("/compose?at=2027-03-04T09:00").get_data(as_text=True)
    assert 'value="2027-03-04T09:00"' in page


def test_moving_a_post_someone_changed_since_the_calendar_showed_it_is_refused_saying_so(
        form_client, client, sandbox_channels):
    later = (utcnow() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    post_id = client.post("/api/posts", json={"text": "Shown on the calendar", "networks": ["facebook"],
                                              "scheduled_at": later}).get_json()["id"]
    window = {"from": (utcnow() - dt.timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z"),
              "to": (utcnow() + dt.timedelta(days=10)).strftime("%Y-%m-%dT00:00:00Z")}
    shown = next(i for i in client.get("/api/calendar", query_string=window).get_json()["items"] if i["id"] == post_id)
    assert shown["version"] == client.get(f"/api/posts/{post_id}").get_json()["updated_at"]
    client.patch(f"/api/posts/{post_id}", json={"text": "Rewritten meanwhile"})
    local = (utcnow() + dt.timedelta(days=4)).strftime("%Y-%m-%dT09:00")
    refused = move(form_client, post_id=post_id, scheduled_at=local, timezone="UTC", version=shown["version"])
    assert refused.status_code == 409
    assert "changed by someone else" in refused.get_json()["error"]["message"]
    assert client.get(f"/api/posts/{post_id}").get_json()["scheduled_at"].startswith(later[:16])
    fresh = client.get(f"/api/posts/{post_id}").get_json()["updated_at"]
    assert move(form_client, post_id=post_id, scheduled_at=local, timezone="UTC", version=fresh).status_code == 200
