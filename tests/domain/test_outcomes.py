"""An outcome is told in one place (socialpub/outcomes.py), in the transaction
of the change that makes it: its webhook event and deliveries, its e-mails
and its in-app notices, all or none; an outcome that is no webhook event
never reaches an endpoint."""
from __future__ import annotations

import pytest

from socialpub import db, outcomes
from socialpub.db import write_transaction
from socialpub.mail import notices as mail
from socialpub.models import Email, Notice, OutboxEvent, Post, WebhookDelivery, WebhookEndpoint
from socialpub.webhooks import events


@pytest.fixture
def told(app, monkeypatch):
    """A post, an endpoint that takes every event, e-mail on, and no message sent;
    returns the post's id and a count of what was written."""
    monkeypatch.setitem(mail._mail, "on", True)
    monkeypatch.setattr(events, "send", lambda delivery_id: None)
    monkeypatch.setattr("socialpub.mail.sending.send", lambda email_id: None)
    with db.database.connection_context():
        WebhookEndpoint.create(url="https://example.com/hooks", secret="whsec_x")
        post_id = Post.create(text="Told", status="failed").id
        yield post_id, lambda: (OutboxEvent.select().count(), WebhookDelivery.select().count(),
                                Email.select().count(), Notice.select().count())


def test_a_failed_post_makes_its_webhook_event_its_email_and_its_notice_in_one_transaction(told):
    post_id, written = told
    with pytest.raises(RuntimeError):
        with write_transaction():
            outcomes.tell(events.POST_FAILED, post_id)
            raise RuntimeError("the status change failed")
    assert written() == (0, 0, 0, 0)
    with write_transaction():
        assert outcomes.tell(events.POST_FAILED, post_id) == 1
    assert written() == (1, 1, 1, 1)  # the admin is e-mailed and told in the app


def test_a_post_waiting_for_approval_is_told_to_the_admins_but_never_to_an_endpoint(told):
    post_id, written = told
    with write_transaction():
        assert outcomes.tell(outcomes.POST_AWAITING_APPROVAL, post_id) == 0
    assert written() == (0, 0, 1, 1)
