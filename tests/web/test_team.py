"""The team: an admin invites by e-mail address (a single-use link that
expires), the invited person sets their password and is in with the role
given; roles change; disabling and resetting access end sessions and tokens
at once; a team always keeps an admin. Every change is in the audit trail."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from socialpub import db
from socialpub.commands.cli import main
from socialpub.models import Invitation, User

from tests.conftest import TEST_EMAIL
from tests.support.web_helpers import csrf_token

NEW_PASSWORD = "a brand new password"


def link_of(page: str) -> str:
    return re.search(r'id="new-link-value">([^<]+)<', page).group(1)


def path_of(link: str) -> str:
    return "/join/" + link.rsplit("/join/", 1)[1]


def visitor(app) -> FlaskClient:
    return FlaskClient(app, app.response_class, use_cookies=True)


def accept(app, link, password=NEW_PASSWORD, confirm=None):
    person = visitor(app)
    page = person.get(path_of(link))
    return person, page, person.post(path_of(link), data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "password": password,
        "confirm_password": confirm if confirm is not None else password})


def test_an_invited_editor_sets_a_password_and_is_signed_in_as_an_editor(app, form_client):
    page = form_client.post("/team/invitations", data={"email": "Ana@Example.com", "role": "editor"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Send ana@example.com this invitation link" in text
    link = link_of(text)
    assert link.startswith("http://localhost/join/")
    assert "ana@example.com" in form_client.get("/team").get_data(as_text=True)  # an open invitation

    person, shown, joined = accept(app, link)
    assert shown.status_code == 200 and "as <strong>editor</strong>" in shown.get_data(as_text=True)
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/posts")
    me = person.get("/api/me").get_json()
    assert (me["email"], me["role"]) == ("ana@example.com", "editor")
    assert person.get("/compose").status_code == 200
    assert person.get("/team").status_code == 403

    # The link works once.
    again = visitor(app).get(path_of(link))
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)
    # The password is the one chosen.
    signed_in = visitor(app)
    form = signed_in.get("/sign-in").get_data(as_text=True)
    response = signed_in.post("/sign-in", data={"csrf_token": csrf_token(form), "email": "ana@example.com",
                                                "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_a_bad_invitation_comes_back_with_the_field_named_and_the_input_kept(form_client):
    page = form_client.post("/team/invitations", data={"email": "not an address", "role": "editor"})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "email: must be an email address" in text and 'value="not an address"' in text
    member = form_client.post("/team/invitations", data={"email": TEST_EMAIL, "role": "viewer"})
    assert member.status_code == 409 and "is on the team already" in member.get_data(as_text=True)
    with db.database.connection_context():
        assert Invitation.select().count() == 0


def test_a_link_that_expired_was_replaced_or_withdrawn_does_not_work(app, client):
    first = client.post("/api/invitations", json={"email": "bo@example.com", "role": "viewer"}).get_json()
    second = client.post("/api/invitations", json={"email": "bo@example.com", "role": "editor"}).get_json()
    assert visitor(app).get(path_of(first["link"])).status_code == 410  # replaced by the newer one
    assert [i["role"] for i in client.get("/api/invitations").get_json()["items"]] == ["editor"]
    with db.database.connection_context():
        Invitation.update(expires_at=dt.datetime(2020, 1, 1)).where(Invitation.id == second["id"]).execute()
    assert visitor(app).get(path_of(second["link"])).status_code == 410
    third = client.post("/api/invitations", json={"email": "bo@example.com", "role": "editor"}).get_json()
    assert client.delete(f"/api/invitations/{third['id']}").status_code == 204
    person = visitor(app)
    assert person.get(path_of(third["link"])).status_code == 410
    token = csrf_token(person.get("/sign-in").get_data(as_text=True))
    refused = person.post(path_of(third["link"]), data={"csrf_token": token, "password": NEW_PASSWORD,
                                                        "confirm_password": NEW_PASSWORD})
    assert refused.status_code == 410
    with db.database.connection_context():
        assert not User.select().where(User.email == "bo@example.com").exists()


def test_the_invitation_page_keeps_the_link_usable_after_a_refused_password(app, client):
    link = client.post("/api/invitations", json={"email": "cy@example.com", "role": "viewer"}).get_json()["link"]
    _, _, short = accept(app, link, password="short")
    assert short.status_code == 400 and "10 to 1024 characters" in short.get_data(as_text=True)
    _, _, differ = accept(app, link, confirm="something else entirely")
    assert differ.status_code == 400 and "The two passwords differ" in differ.get_data(as_text=True)
    _, _, joined = accept(app, link)
    assert joined.status_code == 302


def test_only_a_hash_of_the_link_is_stored(client):
    link = client.post("/api/invitations", json={"email": "di@example.com", "role": "viewer"}).get_json()["link"]
    token = link.rsplit("/", 1)[1]
    with db.database.connection_context():
        [invitation] = Invitation.select()
    assert token not in invitation.digest and len(invitation.digest) == 64


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(client, member, anon_client):
    editor = member("editor")
    assert editor.get("/api/me").status_code == 200
    response = client.patch(f"/api/users/{editor.user_id}", json={"disabled": True})
    assert response.status_code == 200 and response.get_json()["disabled"] is True
    assert anon_client.get("/api/me", headers={"Authorization": f"Bearer {editor.token}"}).status_code == 401
    editor.environ_base.pop("HTTP_AUTHORIZATION")
    assert editor.get("/posts").status_code == 302  # the session ended: to sign-in
    # Enabled again, the old token stays revoked: they sign in afresh.
    client.patch(f"/api/users/{editor.user_id}", json={"disabled": False})
    assert anon_client.get("/api/me", headers={"Authorization": f"Bearer {editor.token}"}).status_code == 401


def test_resetting_access_signs_out_revokes_and_gives_a_link_for_a_new_password(app, client, member, anon_client):
    viewer = member("viewer")
    reset = client.post(f"/api/users/{viewer.user_id}/reset")
    assert reset.status_code == 201
    assert anon_client.get("/api/me", headers={"Authorization": f"Bearer {viewer.token}"}).status_code == 401
    with db.database.connection_context():
        assert User.get_by_id(viewer.user_id).password_hash == ""  # the old password no longer signs in
    person, page, done = accept(app, reset.get_json()["link"])
    assert "Set a new password" in page.get_data(as_text=True)
    assert done.status_code == 302
    assert person.get("/api/me").get_json()["email"] == viewer.email


def test_a_team_always_keeps_an_admin(client):
    with db.database.connection_context():
        me = User.get(User.email == TEST_EMAIL)
    demoted = client.patch(f"/api/users/{me.id}", json={"role": "editor"})
    assert demoted.status_code == 409 and "the only admin" in demoted.get_json()["error"]["message"]
    myself = client.patch(f"/api/users/{me.id}", json={"disabled": True})
    assert myself.status_code == 409 and "cannot disable yourself" in myself.get_json()["error"]["message"]
    reset = client.post(f"/api/users/{me.id}/reset")
    assert reset.status_code == 409 and "your own access" in reset.get_json()["error"]["message"]
    bad = client.patch(f"/api/users/{me.id}", json={"role": "owner"})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "role"
    unknown = client.patch(f"/api/users/{me.id}", json={"colour": "red"})
    assert unknown.status_code == 400 and unknown.get_json()["error"]["field"] == "colour"
    with db.database.connection_context():
        assert User.get_by_id(me.id).role == "admin" and not User.get_by_id(me.id).disabled


def test_a_second_admin_may_take_over_and_the_first_may_then_step_down(client, member):
    other = member("editor")
    assert client.patch(f"/api/users/{other.user_id}", json={"role": "admin"}).get_json()["role"] == "admin"
    with db.database.connection_context():
        me = User.get(User.email == TEST_EMAIL)
    assert client.patch(f"/api/users/{me.id}", json={"role": "editor"}).status_code == 200
    assert other.get("/api/users").status_code == 200


def test_the_team_changes_are_in_the_audit_trail_with_who_made_them(app, client, member):
    editor = member("editor")
    client.patch(f"/api/users/{editor.user_id}", json={"role": "viewer"})
    client.patch(f"/api/users/{editor.user_id}", json={"disabled": True})
    events = client.get(f"/api/users/{editor.user_id}/events").get_json()["items"]
    assert [(e["action"], e["actor"]) for e in events] == [("role changed", TEST_EMAIL), ("disabled", TEST_EMAIL)]
    assert events[0]["detail"] == {"email": editor.email, "role": "viewer", "was": "editor"}
    page = client.get("/team").get_data(as_text=True)
    assert f"{TEST_EMAIL}: disabled {editor.email}" in page


def test_the_team_page_changes_a_role_and_disables_with_its_buttons(form_client, member):
    editor = member("editor")
    assert form_client.post(f"/team/{editor.user_id}/role", data={"role": "viewer"}).status_code == 302
    assert form_client.post(f"/team/{editor.user_id}/disable").status_code == 302
    page = form_client.get("/team").get_data(as_text=True)
    assert "is disabled: signed out everywhere, API tokens revoked" in page
    row = re.search(rf'<tr id="member-{editor.user_id}".*?</tr>', page, re.S).group(0)
    assert "Disabled" in row and 'value="viewer" selected' in row and "Enable" in row


def test_an_api_invitation_needs_an_email_and_a_known_role(client):
    missing = client.post("/api/invitations", json={"role": "editor"})
    assert missing.status_code == 400 and missing.get_json()["error"]["field"] == "email"
    role = client.post("/api/invitations", json={"email": "ed@example.com", "role": "owner"})
    assert role.status_code == 400 and role.get_json()["error"]["field"] == "role"


def test_the_command_line_makes_admins_unless_told_another_role(app, settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SOCIALPUB_INSTANCE", settings.instance_dir)
    runner = CliRunner()
    admin = runner.invoke(main, ["create-user", "op@example.com"])
    viewer = runner.invoke(main, ["create-user", "looker@example.com", "--role", "viewer"])
    assert "Created op@example.com (admin)." in admin.output
    assert "Created looker@example.com (viewer)." in viewer.output
    assert runner.invoke(main, ["create-user", "x@example.com", "--role", "owner"]).exit_code == 2
    with db.database.connection_context():
        assert {u.email: u.role for u in User.select().where(User.email != TEST_EMAIL)} == {
            "op@example.com": "admin", "looker@example.com": "viewer"}


def test_an_admin_made_an_editor_loses_the_invitations_they_sent(app, client, member):
    other = member("admin")
    link = other.post("/api/invitations", json={"email": "friend@example.com", "role": "admin"}).get_json()["link"]
    assert client.patch(f"/api/users/{other.user_id}", json={"role": "editor"}).status_code == 200
    assert visitor(app).get(path_of(link)).status_code == 410


@pytest.mark.parametrize("address", [
    "ana,bob@example.com",            # two recipients once in a To header: "ana" and "bob@example.com"
    "ana@example.com,bob",
    '"Ana" <ana@example.com>',
    "ana@example.com (Ana)",
    "ana@example.com;bob@example.com",
    "undisclosed-recipients:;ana@example.com",
])
def test_an_invitation_is_for_one_plain_address_and_nothing_else(client, form_client, address):
    api = client.post("/api/invitations", json={"email": address, "role": "editor"})
    assert api.status_code == 400 and api.get_json()["error"]["field"] == "email", api.get_json()
    page = form_client.post("/team/invitations", data={"email": address, "role": "editor"})
    assert page.status_code == 400 and "email: must be " in page.get_data(as_text=True)
    with db.database.connection_context():
        assert Invitation.select().count() == 0


@pytest.mark.parametrize("address", ["ana\x00@example.com", "ana\ud800@example.com"])
def test_an_invitation_with_text_no_database_stores_is_refused_naming_the_field(client, form_client, address):
    api = client.post("/api/invitations", json={"email": address, "role": "editor"})
    assert api.status_code == 400 and api.get_json()["error"]["field"] == "email", api.get_json()
    if "\x00" in address:  # a form cannot carry a lone surrogate
        page = form_client.post("/team/invitations", data={"email": address, "role": "editor"})
        assert page.status_code == 400 and "email: " in page.get_data(as_text=True)
    with db.database.connection_context():
        assert Invitation.select().count() == 0
