"""Retention: what is past its age goes, in small batches, and only what is
finished; ``socialpub prune --dry-run`` says what would go and removes nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from socialpub import db, retention
from socialpub.commands.cli import main
from socialpub.models import (
    Attempt,
    Email,
    Event,
    MetaNotification,
    MetricReading,
    Notice,
    OutboxEvent,
    Post,
    Publication,
    QuotaUse,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)


@pytest.fixture
def history(app, sandbox_channels):
    """Of each kind, rows past their retention and rows that must stay (recent, or not finished)."""
    now = utcnow()
    old, recent = now - dt.timedelta(days=100), now - dt.timedelta(days=1)
    with db.database.connection_context():
        post = Post.create(text="Old news", status="published")
        pub = Publication.create(post=post, channel=sandbox_channels["facebook"], network="facebook",
                                 text="Old news", status="published")
        for number, at in enumerate((old, old, old, recent), start=1):
            Attempt.create(publication=pub, number=number, started_at=at, finished_at=at, outcome="published")
        endpoint = WebhookEndpoint.create(url="https://example.com/hook", secret="whsec_x")
        events = [OutboxEvent.create(msg_id=f"msg_{i}", type="post.published", payload={}, created_at=old)
                  for i in range(4)]
        delivered = WebhookDelivery.create(event=events[0], endpoint=endpoint, status="delivered", touched_at=old)
        WebhookAttempt.create(delivery=delivered, duration_ms=5, at=old)
        WebhookDelivery.create(event=events[1], endpoint=endpoint, status="pending", touched_at=old)  # stays
        WebhookDelivery.create(event=events[2], endpoint=endpoint, status="failed", touched_at=recent)
        Email.create(to="a@example.com", subject="s", status="sent", touched_at=old)
        Email.create(to="a@example.com", subject="s", status="pending", touched_at=old)  # stays: not sent
        MetaNotification.create(body="{}", received_at=old, applied_at=old)
        MetaNotification.create(body="{}", received_at=old, applied_at=None)  # stays: not applied
        admin = User.get()
        Notice.create(user=admin, kind="failed", post=post.id, text="read long ago", created_at=old, read_at=old)
        Notice.create(user=admin, kind="failed", post=post.id, text="unread", created_at=old)  # stays: not read
        Event.create(subject="post", subject_id=post.id, action="created", at=now - dt.timedelta(days=400))
        Event.create(subject="post", subject_id=post.id, action="published", at=recent)
        QuotaUse.create(channel=pub.channel_id, quota="posts", publication=pub.id, at=now - dt.timedelta(days=3))
        QuotaUse.create(channel=pub.channel_id, quota="posts", publication=pub.id, at=now - dt.timedelta(hours=30))
        # A post's curve: a reading past ANALYTICS_RETENTION_DAYS goes, a newer one stays.
        MetricReading.create(publication=pub, taken_at=now - dt.timedelta(days=800), views=1)
        MetricReading.create(publication=pub, taken_at=recent, views=2)
    return pub


def counts():
    with db.database.connection_context():
        return {m.__name__: m.select().count() for m in (Attempt, WebhookDelivery, WebhookAttempt, OutboxEvent,
                                                           Email, MetaNotification, Notice, Event, QuotaUse,
                                                           MetricReading)}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_prune_removes_only_what_is_old_and_finished_in_small_batches(history, settings, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches of a kind
    before = counts()
    with db.database.connection_context():
        done = {p.kind: p.rows for p in retention.prune(settings)}
    assert done == {"attempts": 3, "webhook deliveries": 1, "webhook events": 2, "e-mails": 1,
                    "Meta notifications": 1, "read notices": 1, "audit trail": 1, "quota places": 1,
                    "metric readings": 1}
    after = counts()
    assert {k: before[k] - after[k] for k in before} == {
        "Attempt": 3, "WebhookDelivery": 1, "WebhookAttempt": 1, "OutboxEvent": 2, "Email": 1,
        "MetaNotification": 1, "Notice": 1, "Event": 1, "QuotaUse": 1, "MetricReading": 1}
    with db.database.connection_context():
        assert Publication.get_by_id(history.id).status == "published"  # the publication stays
        assert [a.number for a in Attempt.select()] == [4]
        assert WebhookDelivery.select().where(WebhookDelivery.status == "pending").count() == 1


def test_the_dry_run_says_what_would_go_and_removes_nothing(history, settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SOCIALPUB_INSTANCE", settings.instance_dir)
    before = counts()
    result = CliRunner().invoke(main, ["prune", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "attempts: would remove 3 (older than" in result.output
    assert "webhook events: would remove 2" in result.output and "audit trail: would remove 1" in result.output
    assert counts() == before
    monkeypatch.setenv("AUDIT_RETENTION_DAYS", "0")
    result = CliRunner().invoke(main, ["prune"])
    assert "audit trail: kept for ever" in result.output and "attempts: removed 3" in result.output
    assert counts()["Event"] == before["Event"]
