"""Recurring posts: each occurrence a post of its own, made once the one before
went out, at the next time of the rule's grid in the post's zone — never
drifting, the same wall-clock time across summer time, made once even by two
schedulers —; a rule that cannot work is refused naming its field; an
occurrence can be skipped, and a series stopped."""
import datetime as dt

import pytest

from socialpub import db
from socialpub.intake.schedule_time import next_occurrence
from socialpub.lifecycle import recurrence
from socialpub.models import Post, Publication

WEEKLY = {"every": 1, "unit": "week", "until": None}


def test_a_weekly_post_keeps_its_wall_clock_time_across_summer_time():
    # Monday 2027-03-22 09:00 in Madrid is 08:00 UTC; Madrid enters summer time on 2027-03-28.
    first = dt.datetime(2027, 3, 22, 8, 0)
    assert next_occurrence(WEEKLY, first, "Europe/Madrid", first) == dt.datetime(2027, 3, 29, 7, 0)
    # Every 14 days from a given time; a scheduler down for weeks gets the next time after now, not every missed one.
    fortnight = {"every": 14, "unit": "day", "until": None}
    assert next_occurrence(fortnight, first, "Europe/Madrid", dt.datetime(2027, 5, 1)) == dt.datetime(2027, 5, 3, 7, 0)
    assert next_occurrence({**WEEKLY, "until": "2027-03-28"}, first, "Europe/Madrid", first) is None


@pytest.mark.parametrize("rule, scheduled, field", [
    ({"every": 0, "unit": "week"}, True, "recurrence.every"),
    ({"every": 1, "unit": "fortnight"}, True, "recurrence.unit"),
    ({"every": 1, "unit": "week", "until": "2020-01-01"}, True, "recurrence.until"),
    ({"every": 1, "unit": "week"}, False, "recurrence"),
])
def test_a_rule_that_cannot_work_is_refused_naming_its_field(client, sandbox_channels, rule, scheduled, field):
    body = {"text": "weekly", "networks": ["facebook"], "recurrence": rule}
    if scheduled:
        body.update(scheduled_at="2027-03-22T09:00:00", timezone="Europe/Madrid")
    refused = client.post("/api/posts", json=body)
    assert refused.status_code in (400, 422) and refused.get_json()["error"]["field"] == field
    with db.database.connection_context():
        assert not Post.select().exists()


def went_out(post_id):
    with db.database.connection_context():
        Post.update(status="published").where(Post.id == post_id).execute()
        Publication.update(status="published").where(Publication.post == post_id).execute()


def test_each_occurrence_is_made_once_after_the_one_before_went_out_and_can_be_skipped_or_stopped(
        client, sandbox_channels):
    first = client.post("/api/posts", json={
        "text": "Monday coffee", "networks": ["facebook", "linkedin"], "first_comment": "#monday",
        "scheduled_at": "2027-03-22T09:00:00", "timezone": "Europe/Madrid", "recurrence": {"unit": "week"}}
    ).get_json()
    assert first["recurrence"] == {"every": 1, "unit": "week", "until": None}
    assert first["series"] == {"first_post_id": first["id"], "next_post_id": None}
    with db.database.connection_context():
        assert recurrence.extend() == 0  # not gone out yet
    went_out(first["id"])
    with db.database.connection_context():
        assert recurrence.extend(now=dt.datetime(2027, 3, 22, 8, 1)) == 1
        assert recurrence.extend(now=dt.datetime(2027, 3, 22, 8, 2)) == 0  # once
    series = client.get(f"/api/posts/{first['id']}").get_json()["series"]
    second = client.get(f"/api/posts/{series['next_post_id']}").get_json()
    assert second["status"] == "scheduled" and second["text"] == "Monday coffee"
    assert second["scheduled_at"] == "2027-03-29T09:00:00+02:00" and second["timezone"] == "Europe/Madrid"
    assert {p["first_comment"]["text"] for p in second["publications"]} == {"#monday"}
    assert second["series"]["first_post_id"] == first["id"]
    # Skip this one: it moves a week on; the series goes on.
    skipped = client.post(f"/api/posts/{second['id']}/skip").get_json()
    assert skipped["scheduled_at"] == "2027-04-05T09:00:00+02:00" and skipped["recurrence"]["unit"] == "week"
    # Stop: no more after this one.
    stopped = client.patch(f"/api/posts/{second['id']}", json={"recurrence": None}).get_json()
    assert stopped["recurrence"] is None
    went_out(second["id"])
    with db.database.connection_context():
        assert recurrence.extend(now=dt.datetime(2027, 4, 5, 7, 1)) == 0
        assert Post.select().count() == 2




def test_the_compose_form_repeats_a_scheduled_post_and_its_page_says_so(app, sandbox_channels):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    form = {"text": "Every week from the form", "channels": [str(sandbox_channels["facebook"])],
            "scheduled_at": "2027-07-05T09:15", "timezone": "Europe/Madrid", "action": "schedule",
            "repeat": "1 week"}
    assert client.post("/compose", data=form).status_code == 302
    with db.database.connection_context():
        post = Post.select().order_by(Post.id.desc()).get()
    assert post.recurrence == {"every": 1, "unit": "week", "until": None} and post.series_of == post.id
    page = client.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "Repeats every  week" not in page and "Repeats every week" in " ".join(page.split())
    assert "Skip this one" in page
    refused = client.post("/compose", data={**form, "action": "draft", "scheduled_at": ""})
    assert refused.status_code == 422 and "the first time it goes out" in refused.get_data(as_text=True)
