"""E-mail, against a real SMTP server on loopback (aiosmtpd): a post that
failed or partly failed tells its editor (and the admins), at once or in an
hourly digest as each chose; invitation links go by e-mail; an e-mail the
server refuses is tried again and never holds up a publication; the SMTP
password is never logged."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import socket
import threading
import time
from dataclasses import replace
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from socialpub import db
from socialpub.mail import notices, smtp
from socialpub.mail import sending as mail_sending
from socialpub.models import Email, utcnow

from tests.conftest import TEST_EMAIL


class Inbox:
    """What the SMTP server received; it answers ``refusals`` with 451 first."""

    def __init__(self, refusals=0):
        self.messages, self.refusals = [], refusals
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        if self.refusals:
            self.refusals -= 1
            return "451 4.3.0 Try again later"
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count, timeout=30):
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} e-mails arrived, not {count}")
            return list(self.messages)

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(request):
    marker = request.node.get_closest_marker("refusals")
    inbox = Inbox(refusals=marker.args[0] if marker else 0)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture
def settings(settings, inbox):
    return settings.with_(smtp_url=inbox.url, mail_from="socialpub@example.test",
                          public_base_url="https://social.example.test")


def test_a_partly_failed_post_tells_its_editor_and_the_admins_at_once(
        client, member, sandbox_channels, sandbox_client, drain, inbox):
    editor, other = member("editor"), member("editor")
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = editor.post("/api/posts", json={"text": "Half out", "networks": ["facebook", "linkedin"],
                                              "publish": True}).get_json()["id"]
    drain()
    inbox.wait_for(2)
    [mail] = inbox.to(editor.email)
    assert mail["Subject"] == f"Post #{post_id} partly failed: Half out"
    assert mail["From"] == "socialpub@example.test"
    body = mail.get_payload()
    assert "LinkedIn: failed" in body and "Facebook: published" in body
    assert f"https://social.example.test/posts/{post_id}" in body
    assert len(inbox.to(TEST_EMAIL)) == 1  # an admin hears about every post
    assert inbox.to(other.email) == []  # another editor's post is not theirs


def test_a_digest_gathers_the_news_into_one_email(client, member, sandbox_channels, sandbox_client, drain, inbox,
                                                  settle):
    editor = member("editor")
    assert editor.patch("/api/me", json={"notifications": {"posts": "digest"}}).get_json()["notifications"] == {
        "posts": "digest", "channels": "off"}
    assert client.patch("/api/me", json={"notifications": {"posts": "off"}}).status_code == 200
    sandbox_client.configure(facebook={"fail": {"error": "bad_parameter", "times": 2}})
    for text in ("First miss", "Second miss"):
        editor.post("/api/posts", json={"text": text, "networks": ["facebook"], "publish": True})
    drain()
    settle()
    assert inbox.messages == []
    with db.database.connection_context():
        assert notices.gather_digests() == 1
        assert notices.gather_digests() == 0
    [digest] = inbox.wait_for(1)
    assert digest["To"] == editor.email and digest["Subject"] == "socialpub: 2 things to know"
    assert "First miss" in digest.get_payload() and "Second miss" in digest.get_payload()


def test_an_invitation_goes_by_email_and_its_link_works(app, client, inbox, worker, settle):
    made = client.post("/api/invitations", json={"email": "new@example.com", "role": "editor"}).get_json()
    assert made["emailed"] is True and "link" not in made
    [mail] = inbox.wait_for(1)
    assert mail["To"] == "new@example.com" and mail["Subject"] == "You are invited to socialpub"
    link = re.search(r"https://social\.example\.test(/join/\S+)", mail.get_payload()).group(1)
    assert app.test_client().get(link).status_code == 200
    settle()
    with db.database.connection_context():
        [email] = Email.select()
    assert email.status == "sent" and email.body is None  # the link is not kept once sent


@pytest.mark.refusals(1)
def test_an_email_the_server_refuses_is_tried_again_and_the_post_is_not_held_up(
        client, sandbox_channels, sandbox_client, drain, inbox, monkeypatch, settle):
    monkeypatch.setattr(mail_sending, "OUTBOX",
                        replace(mail_sending.OUTBOX, schedule=(dt.timedelta(milliseconds=100),) * 5))
    sandbox_client.configure(facebook={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = client.post("/api/posts", json={"text": "Told late", "networks": ["facebook"],
                                              "publish": True}).get_json()["id"]
    drain()
    assert client.get(f"/api/posts/{post_id}").get_json()["status"] == "failed"
    [mail] = inbox.wait_for(1)
    settle()
    with db.database.connection_context():
        [email] = Email.select()
    assert (email.status, email.attempts) == ("sent", 2)
    assert mail["Subject"].startswith(f"Post #{post_id} failed")


def test_no_server_leaves_the_email_waiting_and_the_password_out_of_the_logs(
        client, settings, sandbox_channels, sandbox_client, drain, monkeypatch, caplog):
    monkeypatch.setattr(mail_sending, "send", lambda email_id: None)  # tried below, by hand
    sandbox_client.configure(facebook={"fail": {"error": "bad_parameter", "times": 1}})
    client.post("/api/posts", json={"text": "Nobody to tell", "networks": ["facebook"], "publish": True})
    drain()
    nobody = settings.with_(smtp_url=f"smtp://mailer:s3cret-passw0rd@127.0.0.1:{free_port()}")  # nothing listens
    with db.database.connection_context(), caplog.at_level(logging.DEBUG):
        [email] = Email.select()
        assert mail_sending.deliver(email.id, nobody) == 60_000  # tried again in a minute
        email = Email.get_by_id(email.id)
    assert email.status == "pending" and email.attempts == 1 and "Connection refused" in email.last_error
    assert email.next_attempt_at > utcnow()
    assert "s3cret-passw0rd" not in caplog.text and "s3cret-passw0rd" not in email.last_error


def test_the_account_page_saves_what_to_be_told(form_client, inbox):
    page = form_client.get("/account").get_data(as_text=True)
    assert 'id="notifications-form"' in page and "SMTP_URL" not in page
    form_client.post("/account/notifications", data={"posts": "digest", "channels": "off"})
    me = form_client.get("/api/me").get_json()
    assert me["notifications"] == {"posts": "digest", "channels": "off"}
    bad = form_client.post("/account/notifications", data={"posts": "hourly", "channels": "off"})
    assert bad.status_code == 400 and "posts must be one of" in bad.get_data(as_text=True)


def test_a_channel_that_needs_reconnecting_tells_the_admins(client, sandbox_channels, sandbox_client, drain, inbox):
    sandbox_client.configure(facebook={"fail": {"error": "token"}})
    client.post("/api/posts", json={"text": "Token refused", "networks": ["facebook"], "publish": True})
    drain()
    inbox.wait_for(2)
    subjects = sorted(m["Subject"] for m in inbox.to(TEST_EMAIL))
    assert subjects[1].startswith("Reconnect ") and "(Facebook)" in subjects[1]
    assert subjects[0].startswith("Post #")


def test_a_post_text_with_line_breaks_makes_a_one_line_subject(client, sandbox_channels, sandbox_client, drain,
                                                               inbox):
    sandbox_client.configure(facebook={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = client.post("/api/posts", json={"text": "Two\nlines", "networks": ["facebook"],
                                              "publish": True}).get_json()["id"]
    drain()
    [mail] = inbox.wait_for(1)
    assert mail["Subject"] == f"Post #{post_id} failed: Two lines"


class TricklingSMTP(SMTP):
    """An SMTP server that answers one byte every 20 ms: each read is quick, the conversation slow."""

    async def push(self, status):
        reply = (status.encode() if isinstance(status, str) else status) + b"\r\n"
        for at in range(len(reply)):
            self._writer.write(reply[at:at + 1])
            await self._writer.drain()
            await asyncio.sleep(0.02)


class TricklingController(Controller):
    def factory(self):
        return TricklingSMTP(self.handler)


def test_a_slow_server_makes_the_send_give_up_before_its_lease_so_the_email_is_not_sent_twice(
        app, settings, monkeypatch):
    inbox = Inbox()
    controller = TricklingController(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    # Scaled down from 15 s / 30 s / 60 s: no single read waits a second, the whole exchange takes seconds.
    monkeypatch.setattr(smtp, "TIMEOUT_S", 1)
    monkeypatch.setattr(mail_sending, "TIME_LIMIT", dt.timedelta(seconds=1))
    monkeypatch.setattr(mail_sending, "OUTBOX", replace(mail_sending.OUTBOX, lease=dt.timedelta(seconds=2)))
    server = settings.with_(smtp_url=f"smtp://127.0.0.1:{controller.port}", mail_from="socialpub@example.test")
    with db.database.connection_context():
        email_id = Email.create(to="once@example.com", subject="Once", body="Only once, please.").id
    took = {}

    def deliver(name):
        started = time.monotonic()
        with db.database.connection_context():
            took[name] = (mail_sending.deliver(email_id, server), time.monotonic() - started)

    try:
        first = threading.Thread(target=deliver, args=("first",))
        first.start()
        # Past the lease, another worker (a re-driven message) may take an e-mail still "sending".
        time.sleep(2.2)
        second = threading.Thread(target=deliver, args=("second",))
        second.start()
        for thread in (first, second):
            thread.join(30)
        time.sleep(0.5)  # a message still on its way would arrive now
    finally:
        controller.stop()
    assert len(inbox.messages) <= 1
    assert took["first"][1] < 2  # gave up within its time limit, before the lease ended
    assert took["first"][0] == 60_000 and took["second"][0] is None
    with db.database.connection_context():
        email = Email.get_by_id(email_id)
    assert (email.status, email.attempts) == ("pending", 1)
    assert "not answered within the 1 s allowed" in email.last_error
