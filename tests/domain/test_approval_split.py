"""Approval that shows what waits: an editor's post to channels of which only
some need approval sends the others, and those wait as a post of their own;
admins are told (a notice, and e-mail), authors hear of a rejection; the
in-app notice list (GET /api/notices, marking read)."""
from __future__ import annotations

import datetime as dt

import pytest

from socialpub import db
from socialpub.models import Channel, Post, Publication, utcnow


@pytest.fixture
def facebook_needs_approval(sandbox_channels):
    with db.database.connection_context():
        Channel.update(requires_approval=True).where(Channel.id == sandbox_channels["facebook"]).execute()
    return sandbox_channels["facebook"]


def in_hours(hours: float) -> str:
    return (utcnow() + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def channels_of(post_id) -> list:
    with db.database.connection_context():
        return sorted(p.network for p in Publication.select().where(Publication.post == post_id))


def test_only_the_channels_that_need_approval_wait_and_the_others_go_out(
        client, member, facebook_needs_approval, sandbox_client, drain):
    editor = member("editor")
    made = editor.post("/api/posts", json={"text": "Half now", "networks": ["facebook", "linkedin"]}).get_json()
    asked = editor.post(f"/api/posts/{made['id']}/publish")
    assert asked.status_code == 202
    body = asked.get_json()
    assert [r["network"] for r in body["results"]] == ["linkedin"]
    waiting_id = body["waiting_post_id"]
    drain()
    assert [i["network"] for i in sandbox_client.received()] == ["linkedin"]
    assert client.get(f"/api/posts/{made['id']}").get_json()["status"] == "published"
    assert channels_of(made["id"]) == ["linkedin"] and channels_of(waiting_id) == ["facebook"]
    waiting = client.get(f"/api/posts/{waiting_id}").get_json()
    assert waiting["status"] == "awaiting_approval" and waiting["approval"]["asked"] == "publish"
    assert waiting["approval"]["split_from"] == made["id"] and waiting["text"] == "Half now"
    assert client.get(f"/api/posts/{made['id']}").get_json()["approval"]["split_to"] == waiting_id
    events = [e["action"] for e in client.get(f"/api/posts/{made['id']}/events").get_json()["items"]]
    assert "split for approval" in events
    # The admin is told in the app; the editor is not (they asked).
    notices = client.get("/api/notices").get_json()
    assert notices["unread"] == 1 and notices["items"][0]["kind"] == "approval"
    assert notices["items"][0]["link"] == f"/posts/{waiting_id}"
    assert editor.get("/api/notices").get_json() == {"items": [], "unread": 0}
    client.post(f"/api/posts/{waiting_id}/approve")
    # Answered: the admins' notice of it is read, nothing is left to act on.
    assert client.get("/api/notices").get_json()["unread"] == 0
    drain()
    assert sorted(i["network"] for i in sandbox_client.received()) == ["facebook", "linkedin"]


def test_a_scheduled_post_is_scheduled_where_it_may_and_waits_where_it_needs_approval(
        client, member, facebook_needs_approval):
    editor = member("editor")
    made = editor.post("/api/posts", json={"text": "Later, half", "networks": ["facebook", "linkedin"],
                                           "scheduled_at": in_hours(5)}).get_json()
    assert made["status"] == "scheduled" and channels_of(made["id"]) == ["linkedin"]
    waiting = client.get(f"/api/posts/{made['approval']['split_to']}").get_json()
    assert waiting["status"] == "awaiting_approval" and waiting["approval"]["asked"] == "schedule"
    assert waiting["scheduled_at_utc"] == made["scheduled_at_utc"]
    page = editor.get(f"/posts/{waiting['id']}").get_data(as_text=True)
    assert "Waiting for approval, to go out" in page and "to go out once approved," in page
    assert "scheduled for" not in page.lower()


def test_when_every_channel_needs_approval_the_whole_post_waits_as_before(
        client, member, facebook_needs_approval, drain, sandbox_client):
    editor = member("editor")
    made = editor.post("/api/posts", json={"text": "All wait", "networks": ["facebook"]}).get_json()
    asked = editor.post(f"/api/posts/{made['id']}/publish").get_json()
    assert asked["status"] == "awaiting_approval", asked
    drain()
    assert sandbox_client.received() == []
    with db.database.connection_context():
        assert Post.select().where(Post.split_from == made["id"]).count() == 0


def test_a_rejection_tells_its_author_with_the_comment_and_marking_read_clears_the_count(
        client, member, facebook_needs_approval):
    editor = member("editor")
    made = editor.post("/api/posts", json={"text": "Say no", "networks": ["facebook"]}).get_json()
    editor.post(f"/api/posts/{made['id']}/publish")
    # Another user's notice is never marked by someone else.
    admin_notice = client.get("/api/notices").get_json()["items"][0]["id"]
    assert editor.post("/api/notices/read", json={"ids": [admin_notice]}).get_json()["marked"] == 0
    assert client.get("/api/notices?unread=1").get_json()["unread"] == 1
    assert client.post(f"/api/posts/{made['id']}/reject", json={"comment": "Too loud"}).status_code == 200
    assert client.get("/api/notices?unread=1").get_json()["unread"] == 0  # answered: nothing left to do
    told = editor.get("/api/notices").get_json()
    assert told["unread"] == 1
    assert told["items"][0]["kind"] == "rejected" and "Too loud" in told["items"][0]["text"]
    assert told["items"][0]["link"] == f"/posts/{made['id']}/edit"
    assert editor.post("/api/notices/read", json={}).get_json() == {"marked": 1, "unread": 0}
    assert editor.get("/api/notices?unread=1").get_json()["items"] == []


def test_marking_read_names_the_field_when_the_ids_are_not_ids(client):
    for body in ({"ids": "all"}, {"ids": [0]}, {"ids": [True]}, {"other": 1}):
        answer = client.post("/api/notices/read", json=body)
        assert answer.status_code == 400 and answer.get_json()["error"]["field"] in ("ids", "other", None), body


def test_a_failed_post_and_a_refused_token_are_notices_to_the_admins_and_the_author(
        client, member, sandbox_channels, sandbox_client, drain):
    editor = member("editor")
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}},
                             facebook={"fail": {"error": "token"}})
    post_id = editor.post("/api/posts", json={"text": "Misses", "networks": ["linkedin"],
                                              "publish": True}).get_json()["id"]
    client.post("/api/posts", json={"text": "Locked out", "networks": ["facebook"], "publish": True})
    drain()
    [failed] = editor.get("/api/notices").get_json()["items"]
    assert failed["kind"] == "failed" and failed["post_id"] == post_id and "Misses" in failed["text"]
    kinds = sorted(n["kind"] for n in client.get("/api/notices").get_json()["items"])
    assert kinds == ["failed", "failed", "reconnect"]
    viewer = member("viewer")
    assert viewer.get("/api/notices").get_json()["unread"] == 0


def test_the_compose_form_says_what_waits_before_and_after_the_click(form_client, member, sandbox_channels,
                                                                     facebook_needs_approval):
    editor = member("editor", token=False)
    both = [str(sandbox_channels["facebook"]), str(sandbox_channels["linkedin"])]
    page = editor.get("/compose").get_data(as_text=True)
    assert page.count("data-needs-approval") == 1 and 'id="approval-outlook"' in page
    assert "waits for an admin&#39;s approval" in page or "waits for an admin's approval" in page
    done = editor.post("/compose", data={"text": "Monday, half", "channels": both, "action": "schedule",
                                         "scheduled_at": in_hours(48)[:16], "timezone": "UTC"},
                       follow_redirects=True).get_data(as_text=True)
    assert "LinkedIn is scheduled; Facebook waits for an admin&#39;s approval (post #" in done
    assert "Scheduled. It will be published" not in done
    # An admin's form marks nothing: their posts never wait.
    assert "data-needs-approval" not in form_client.get("/compose").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_schema_step_adds_the_notice_list_and_split_from_once_and_harmlessly(client, member,
                                                                                facebook_needs_approval):
    from socialpub import schema
    from socialpub.models import SchemaVersion

    step = schema.STEPS.index(schema._notices_and_split_posts) + 1
    with db.database.connection_context():
        db.database.execute_sql('DROP TABLE "notice"')
        db.database.execute_sql('DROP INDEX "post_split_from"')
        db.database.execute_sql('ALTER TABLE "post" DROP COLUMN "split_from"')
        SchemaVersion.delete().where(SchemaVersion.version >= step).execute()
        assert schema.upgrade() == (step - 1, len(schema.STEPS))
        assert schema.upgrade() == (len(schema.STEPS), len(schema.STEPS))  # once only
        schema._notices_and_split_posts()  # on a database that has them: nothing to do
    editor = member("editor")
    made = editor.post("/api/posts", json={"text": "After the upgrade", "networks": ["facebook", "linkedin"],
                                           "scheduled_at": in_hours(5)}).get_json()
    assert made["approval"]["split_to"] and client.get("/api/notices").get_json()["unread"] == 1


def test_an_editors_edit_that_schedules_a_draft_splits_it_too(client, member, facebook_needs_approval):
    editor = member("editor")
    made = editor.post("/api/posts", json={"text": "Draft first", "networks": ["facebook", "linkedin"]}).get_json()
    assert made["status"] == "draft" and made["approval"]["split_to"] is None
    edited = editor.patch(f"/api/posts/{made['id']}", json={"text": "Draft, then a time",
                                                            "scheduled_at": in_hours(6)}).get_json()
    assert edited["status"] == "scheduled" and channels_of(made["id"]) == ["linkedin"]
    waiting = client.get(f"/api/posts/{edited['approval']['split_to']}").get_json()
    assert waiting["status"] == "awaiting_approval" and waiting["text"] == "Draft, then a time"
    assert channels_of(waiting["id"]) == ["facebook"]
    # An admin's edit splits nothing: their posts never wait.
    mine = client.post("/api/posts", json={"text": "Admin's", "networks": ["facebook", "linkedin"]}).get_json()
    assert client.patch(f"/api/posts/{mine['id']}", json={"scheduled_at": in_hours(6)}).get_json()["status"] == \
        "scheduled"
    assert channels_of(mine["id"]) == ["facebook", "linkedin"]


def test_a_withdrawn_or_deleted_request_leaves_no_unread_approval_notice(client, member, facebook_needs_approval):
    editor = member("editor")
    for end in ("cancel", "delete"):
        made = editor.post("/api/posts", json={"text": f"Then {end}", "networks": ["facebook"]}).get_json()
        editor.post(f"/api/posts/{made['id']}/publish")
        assert client.get("/api/notices").get_json()["unread"] == 1
        ended = (editor.post(f"/api/posts/{made['id']}/cancel") if end == "cancel"
                 else editor.delete(f"/api/posts/{made['id']}"))
        assert ended.status_code in (200, 204), ended.get_data(as_text=True)
        assert client.get("/api/notices").get_json()["unread"] == 0
