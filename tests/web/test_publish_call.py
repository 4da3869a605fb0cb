"""The publish call at its floor (issue 30, item 4): a token the web process remembers is checked
again in the call's first statement, so a token revoked — or whose user is disabled or given another
role — since it was remembered stops working at once; on PostgreSQL the publications, the post and
the audit line are written in one statement, and two calls at once still queue a post once."""
from __future__ import annotations

import threading

import pytest

from socialpub import db
from socialpub.models import ApiToken, Channel, Event, Post, Publication, User
from socialpub.people import accounts

both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def draft(client, **fields) -> int:
    """A draft through the API (not published: the publish call is what is tested)."""
    fields.setdefault("text", f"Publish call {threading.get_ident()} {id(fields)}")
    fields.setdefault("networks", ["facebook", "linkedin"])
    response = client.post("/api/posts", json=fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def state_of(post_id) -> tuple:
    """The post's status, its publications' statuses and its "publish requested" audit lines."""
    with db.database.connection_context():
        post = Post.get_by_id(post_id)
        statuses = sorted(p.status for p in Publication.select().where(Publication.post == post_id))
        lines = Event.select().where((Event.subject == "post") & (Event.subject_id == post_id)
                                     & (Event.action == "publish requested")).count()
    return post.status, statuses, lines


def remembered(client) -> None:
    """Publish one post, so that the web process remembers ``client``'s token."""
    assert client.post(f"/api/posts/{draft(client)}/publish").status_code == 202


def changed_after_remembered(member, role: str, *changes) -> tuple:
    """A ``role`` member whose token the web process remembers, a draft of theirs, then ``changes``
    (each called with the member's user id) made in the database: (their client, the draft's id)."""
    client = member(role)
    remembered(client)
    post_id = draft(client)
    with db.database.connection_context():
        for change in changes:
            change(client.user_id)
    return client, post_id


def revoke(user_id):
    assert accounts.revoke_token(ApiToken.get(ApiToken.user == user_id).id)


def made(role):
    return lambda user_id: User.update(role=role).where(User.id == user_id).execute()


def approval_everywhere(_):
    Channel.update(requires_approval=True).execute()


@both_databases
def test_a_token_revoked_after_it_was_remembered_publishes_nothing(app, member, sandbox_channels):
    editor, post_id = changed_after_remembered(member, "editor", revoke)
    response = editor.post(f"/api/posts/{post_id}/publish")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert state_of(post_id) == ("draft", ["pending", "pending"], 0)


@both_databases
def test_a_user_disabled_after_their_token_was_remembered_publishes_nothing(app, member, sandbox_channels):
    editor, post_id = changed_after_remembered(
        member, "editor", lambda user_id: User.update(disabled=True).where(User.id == user_id).execute())
    assert editor.post(f"/api/posts/{post_id}/publish").status_code == 401
    assert state_of(post_id) == ("draft", ["pending", "pending"], 0)


def test_a_token_deleted_after_it_was_remembered_is_refused(app, member, sandbox_channels):
    editor, post_id = changed_after_remembered(
        member, "editor", lambda user_id: ApiToken.delete().where(ApiToken.user == user_id).execute())
    assert editor.post(f"/api/posts/{post_id}/publish").status_code == 401
    assert state_of(post_id) == ("draft", ["pending", "pending"], 0)


def test_a_user_made_viewer_after_their_token_was_remembered_is_refused_and_nothing_is_written(
        app, member, sandbox_channels):
    editor, post_id = changed_after_remembered(member, "editor", made("viewer"))
    response = editor.post(f"/api/posts/{post_id}/publish")
    assert response.status_code == 403
    assert "viewer" in response.get_json()["error"]["message"]
    assert state_of(post_id) == ("draft", ["pending", "pending"], 0)


@both_databases
def test_an_admin_made_editor_after_their_token_was_remembered_waits_for_approval(app, member, sandbox_channels):
    admin, post_id = changed_after_remembered(member, "admin", approval_everywhere, made("editor"))
    response = admin.post(f"/api/posts/{post_id}/publish")
    assert response.status_code == 202
    assert response.get_json()["status"] == "awaiting_approval"
    assert state_of(post_id) == ("awaiting_approval", ["pending", "pending"], 0)


def test_an_editor_made_admin_after_their_token_was_remembered_publishes_without_approval(
        app, member, sandbox_channels):
    editor, post_id = changed_after_remembered(member, "editor", approval_everywhere, made("admin"))
    assert editor.post(f"/api/posts/{post_id}/publish").status_code == 202
    assert state_of(post_id) == ("publishing", ["queued", "queued"], 1)


def test_a_revoked_token_is_told_401_rather_than_what_the_post_is(app, member, sandbox_channels):
    editor, post_id = changed_after_remembered(member, "editor")
    assert editor.post(f"/api/posts/{post_id}/publish").status_code == 202
    with db.database.connection_context():
        revoke(editor.user_id)
    # Nothing is pending (a 409 for a live token), there is no such post (a 404), the body is not
    # an object (a 400): each a 401 now.
    assert editor.post(f"/api/posts/{post_id}/publish").status_code == 401
    assert editor.post("/api/posts/999999/publish").status_code == 401
    assert editor.post(f"/api/posts/{post_id}/publish", json=[]).status_code == 401


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_an_admins_remembered_token_publishes_in_four_statements_and_a_commit(
        app, member, sandbox_channels, monkeypatch):
    admin = member("admin")  # (an editor's call reads which channels need approval too)
    remembered(admin)
    post_id = draft(admin, networks=["facebook", "instagram", "linkedin"],
                    image_url="https://example.com/photo.jpg")
    statements = []
    real = type(db.database.obj).execute_sql

    def counted(self, sql, params=None):
        statements.append(sql.split(" ", 1)[0])
        return real(self, sql, params)

    monkeypatch.setattr(type(db.database.obj), "execute_sql", counted)
    response = admin.post(f"/api/posts/{post_id}/publish")
    monkeypatch.undo()
    assert response.status_code == 202
    # The pending rows with their channels, the post, how many photos it has, its image's fetch and the
    # token's check, all of which check_ready takes as they are; then the publications, the post and the
    # audit line.
    assert statements == ["SELECT", "WITH"]
    assert state_of(post_id) == ("publishing", ["queued", "queued", "queued"], 1)


@both_databases
def test_two_publish_calls_at_once_queue_the_post_once_with_one_audit_line(app, member, sandbox_channels):
    editor = member("editor")
    remembered(editor)
    for _ in range(5):
        post_id = draft(editor)
        start, answers = threading.Barrier(2), []

        def publish():
            client = app.test_client()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {editor.token}"
            start.wait()
            answers.append(client.post(f"/api/posts/{post_id}/publish").status_code)

        threads = [threading.Thread(target=publish) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(answers) == [202, 409]
        assert state_of(post_id) == ("publishing", ["queued", "queued"], 1)
