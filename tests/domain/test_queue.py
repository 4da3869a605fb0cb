"""Queue slots: a channel's posting times, and "Add to queue" scheduling a post
at its channels' next free one — skipping those another post takes, in the
channel's zone; refused clearly when there is none."""
import datetime as dt
from zoneinfo import ZoneInfo

import dramatiq

from socialpub import db
from socialpub.intake import queue_slots
from socialpub.lifecycle import queueing
from socialpub.models import Channel, Post, utcnow


def set_queue(client, channel_id, zone, slots):
    response = client.put(f"/api/channels/{channel_id}/queue", json={"zone": zone, "slots": slots})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def every_day(time):
    return [{"weekday": d, "time": time} for d in queue_slots.WEEKDAYS]


def test_a_channels_posting_times_are_checked_and_kept_sorted(client, sandbox_channels):
    body = set_queue(client, sandbox_channels["facebook"], "Europe/Madrid",
                     [{"weekday": "wed", "time": "17:30"}, {"weekday": "mon", "time": "09:00"},
                      {"weekday": "mon", "time": "09:00"}])
    assert body["queue"] == {"zone": "Europe/Madrid", "slots": [{"weekday": "mon", "time": "09:00"},
                                                                {"weekday": "wed", "time": "17:30"}]}
    for bad, field in (({"zone": "Mars/Olympus", "slots": []}, "queue.zone"),
                       ({"zone": "UTC", "slots": [{"weekday": "someday", "time": "09:00"}]}, "queue.slots"),
                       ({"zone": "UTC", "slots": [{"weekday": "mon", "time": "25:00"}]}, "queue.slots")):
        response = client.put(f"/api/channels/{sandbox_channels['facebook']}/queue", json=bad)
        assert response.status_code == 400 and response.get_json()["error"]["field"] == field
    assert set_queue(client, sandbox_channels["facebook"], "UTC", [])["queue"] is None


def test_the_form_lines_read_as_days_and_times():
    queue = queue_slots.parse_lines("mon-fri 09:00 17:30\nsat 10:00", "Europe/Madrid")
    assert len(queue["slots"]) == 11 and queue_slots.as_lines(queue).splitlines()[0] == "mon 09:00 17:30"


def test_add_to_queue_takes_the_next_free_slot_in_the_channels_zone(client, sandbox_channels):
    set_queue(client, sandbox_channels["facebook"], "Europe/Madrid", every_day("09:00"))
    first = client.post("/api/posts", json={"text": "First", "networks": ["facebook"]}).get_json()["id"]
    second = client.post("/api/posts", json={"text": "Second", "networks": ["facebook"]}).get_json()["id"]
    a = client.post(f"/api/posts/{first}/queue").get_json()
    b = client.post(f"/api/posts/{second}/queue").get_json()
    at_a, at_b = (dt.datetime.fromisoformat(x["scheduled_at"]) for x in (a, b))
    assert a["status"] == b["status"] == "scheduled" and a["timezone"] == "Europe/Madrid"
    assert at_a.astimezone(ZoneInfo("Europe/Madrid")).strftime("%H:%M") == "09:00"
    assert at_b - at_a == dt.timedelta(days=1)  # the first slot was taken
    assert at_a > dt.datetime.now(dt.timezone.utc)


def test_no_posting_time_is_a_clear_refusal(client, sandbox_channels):
    post = client.post("/api/posts", json={"text": "Nowhere to go", "networks": ["linkedin"]}).get_json()["id"]
    response = client.post(f"/api/posts/{post}/queue")
    assert response.status_code == 422 and "set posting times on the Channels page" in response.get_json()["error"]["message"]
    with db.database.connection_context():
        assert Post.get_by_id(post).status == "draft"


def test_free_slots_leave_out_those_taken(client, sandbox_channels):
    set_queue(client, sandbox_channels["facebook"], "UTC", every_day("12:00"))
    post = client.post("/api/posts", json={"text": "Taken", "networks": ["facebook"]}).get_json()["id"]
    taken = dt.datetime.fromisoformat(client.post(f"/api/posts/{post}/queue").get_json()["scheduled_at_utc"])
    with db.database.connection_context():
        from socialpub.models import Channel

        start = utcnow()
        slots = queueing.free_slots([Channel.get_by_id(sandbox_channels["facebook"])], start,
                                    start + dt.timedelta(days=3))
    assert taken.replace(tzinfo=None) not in [moment for moment, _ in slots] and len(slots) >= 2


def test_the_calendar_shows_the_free_posting_times(client, sandbox_channels):
    set_queue(client, sandbox_channels["facebook"], "UTC", every_day("12:00"))
    now = utcnow()
    body = client.get("/api/calendar", query_string={
        "from": now.isoformat() + "Z", "to": (now + dt.timedelta(days=7)).isoformat() + "Z"}).get_json()
    assert 6 <= len(body["slots"]) <= 7
    assert {s["channel"]["id"] for s in body["slots"]} == {sandbox_channels["facebook"]}
    assert all(s["at"].endswith("T12:00:00+00:00") for s in body["slots"])


def test_posting_times_are_set_on_the_channel_form_and_used_by_add_to_queue(form_client, client, sandbox_channels):
    channel = sandbox_channels["linkedin"]
    form = form_client.get(f"/channels/{channel}/edit").get_data(as_text=True)
    assert 'name="queue"' in form
    saved = form_client.post(f"/channels/{channel}/edit", data={
        "name": "Sandbox LinkedIn", "account_id": "urn:li:organization:5515715", "base_url": "",
        "api_version": "", "enabled": "1", "queue": "mon-sun 08:15", "queue_zone": "UTC"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    assert client.get(f"/api/channels/{channel}").get_json()["queue"]["slots"][0] == {"weekday": "mon", "time": "08:15"}
    bad = form_client.post(f"/channels/{channel}/edit", data={
        "name": "Sandbox LinkedIn", "account_id": "urn:li:organization:5515715", "queue": "someday 8", "queue_zone": "UTC"})
    assert bad.status_code == 422 and "Line 1: &#39;someday&#39; is not a day" in bad.get_data(as_text=True)
    post = client.post("/api/posts", json={"text": "Queued from the page", "networks": ["linkedin"]}).get_json()["id"]
    queued = form_client.post(f"/posts/{post}/queue", follow_redirects=True)
    assert "Added to the queue" in queued.get_data(as_text=True)
    assert client.get(f"/api/posts/{post}").get_json()["scheduled_at_utc"].endswith("T08:15:00+00:00")


def test_every_periodic_actor_is_declared_on_the_broker(app, broker):
    from socialpub.worker import periodic

    periodic = [a for a in vars(periodic).values() if isinstance(a, dramatiq.Actor) and a.options.get("periodic")]
    assert {a.actor_name for a in periodic} >= {"reconcile", "publish_due_posts", "prune_media", "refresh_tokens"}
    for actor in periodic:
        assert broker.get_actor(actor.actor_name) is actor and actor.broker is broker, actor.actor_name


def test_add_to_queue_skips_slots_whose_spacing_or_quota_the_scheduled_posts_fill(client, sandbox_channels):
    """Three slots a day, 09:00, 09:30 and 15:00; the channel keeps an hour between posts and
    takes two a day on Instagram (as Meta last said): the queue leaves 09:30 for 15:00, then skips the
    next day's 09:00, which Meta's window (kept five minutes longer) would still count the first post in."""
    instagram = sandbox_channels["instagram"]
    with db.database.connection_context():
        Channel.update(min_gap_s=3600, quota_readings={"instagram_posts": {
            "used": 0, "total": 2, "window_s": 86400, "read_at": utcnow().isoformat()}}).where(
            Channel.id == instagram).execute()
    set_queue(client, instagram, "UTC", every_day("09:00") + every_day("09:30") + every_day("15:00"))
    times = []
    for n in range(3):
        post = client.post("/api/posts", json={"text": f"Queued {n}", "networks": ["instagram"],
                                               "image_url": "https://example.com/a.jpg"}).get_json()["id"]
        queued = client.post(f"/api/posts/{post}/queue").get_json()
        times.append(dt.datetime.fromisoformat(queued["scheduled_at"]))
    assert [t.strftime("%H:%M") for t in times] == ["09:00", "15:00", "09:30"]
    assert times[2] - times[0] == dt.timedelta(days=1, minutes=30)
