"""The whole team story at once: an admin invites an editor (the link goes by
e-mail), the editor's post waits for approval, is approved, publishes and
partly fails; the editor gets an e-mail and the loopback receiver one
verified post.partially_published per webhook-id. And a channel token that
nothing will renew is announced once, by webhook and by e-mail."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient

from socialpub import db
from socialpub.connecting import refresh
from socialpub.models import Channel, utcnow

from tests.conftest import TEST_EMAIL
from tests.support.web_helpers import csrf_token
from tests.support.webhook_receiver import Receiver
from tests.domain.test_mail import inbox  # noqa: F401 (the loopback SMTP server)


@pytest.fixture
def settings(settings, inbox):  # noqa: F811
    return settings.with_(smtp_url=inbox.url, public_base_url="https://social.example.test")


@pytest.fixture
def hook():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_invite_approve_publish_partly_fail_and_tell_the_editor_and_the_receiver(
        app, client, sandbox_channels, sandbox_client, drain, inbox, hook, settle):  # noqa: F811
    made = client.post("/api/webhooks", json={"url": hook.url, "events": ["post.partially_published"]})
    hook.secrets = [made.get_json()["secret"]]
    with db.database.connection_context():
        Channel.update(requires_approval=True).where(Channel.id.in_(
            [sandbox_channels["facebook"], sandbox_channels["linkedin"]])).execute()
    # The admin invites the editor; the link arrives by e-mail.
    assert client.post("/api/invitations", json={"email": "ed@example.com", "role": "editor"}).get_json()["emailed"]
    [invitation] = inbox.wait_for(1)
    path = re.search(r"https://social\.example\.test(/join/\S+)", invitation.get_payload()).group(1)
    editor = FlaskClient(app, app.response_class, use_cookies=True)
    form = editor.get(path).get_data(as_text=True)
    joined = editor.post(path, data={"csrf_token": csrf_token(form), "password": "the editor's password",
                                     "confirm_password": "the editor's password"})
    assert joined.status_code == 302
    # The editor's post waits for approval.
    composed = editor.get("/compose").get_data(as_text=True)
    posted = editor.post("/compose", data={"csrf_token": csrf_token(composed), "text": "Our launch, approved",
                                           "channels": [str(sandbox_channels["facebook"]),
                                                        str(sandbox_channels["linkedin"])],
                                           "action": "publish"}, follow_redirects=True)
    assert "Waiting for approval" in posted.get_data(as_text=True)
    post_id = int(re.search(r"Post #(\d+)", posted.get_data(as_text=True)).group(1))
    drain()
    assert sandbox_client.received() == []
    # Approved, it goes out; LinkedIn refuses it.
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    assert client.post(f"/api/posts/{post_id}/approve").status_code == 200
    drain()
    assert client.get(f"/api/posts/{post_id}").get_json()["status"] == "partially_published"
    # The editor is told by e-mail; the receiver gets one verified event.
    mails = inbox.wait_for(4)  # the invitation, the admin's "needs your approval", the editor's, the admin's
    [told] = [m for m in mails if m["To"] == "ed@example.com" and m is not invitation]
    assert told["Subject"] == f"Post #{post_id} partly failed: Our launch, approved"
    assert sorted(m["Subject"] for m in mails if m["To"] == TEST_EMAIL) == [
        f"Post #{post_id} needs your approval: Our launch, approved",
        f"Post #{post_id} partly failed: Our launch, approved"]
    [event] = hook.wait_for(1)
    assert event["verified_with"] == [0] and event["body"]["type"] == "post.partially_published"
    assert event["body"]["data"]["id"] == post_id
    settle()
    assert len({r["id"] for r in hook.received}) == len(hook.received) == 1
    trail = [(e["action"], e["actor"]) for e in client.get(f"/api/posts/{post_id}/events").get_json()["items"]]
    assert trail[:3] == [("created", "ed@example.com"), ("submitted for approval", "ed@example.com"),
                         ("approved", TEST_EMAIL)]


def test_a_token_nothing_will_renew_is_announced_once(client, sandbox_channels, inbox, hook, worker):  # noqa: F811
    hook.secrets = [client.post("/api/webhooks", json={"url": hook.url, "events": ["channel.expires_soon"]})
                    .get_json()["secret"]]
    expires = (utcnow() + dt.timedelta(days=3)).replace(microsecond=0)
    with db.database.connection_context():
        Channel.update(token_expires_at=expires).where(Channel.id == sandbox_channels["linkedin"]).execute()
        assert refresh.warn_expiring() == 1
        assert refresh.warn_expiring() == 0  # once per token
    [event] = hook.wait_for(1)
    assert event["body"]["data"]["id"] == sandbox_channels["linkedin"]
    assert event["body"]["data"]["token_expires_at"].startswith(expires.isoformat())
    [mail] = inbox.wait_for(1)
    assert mail["To"] == TEST_EMAIL and "expires" in mail["Subject"]
