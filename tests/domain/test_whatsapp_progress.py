"""A WhatsApp broadcast's progress (whatsapp/progress.py): its counts, and its
expected end while it runs, while a limit holds it, and once it is done — read
in one aggregate query, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import logging

import pytest

from socialpub import db
from socialpub.models import Publication, Recipient
from socialpub.whatsapp import ledger, progress
from tests.support.whatsapp_fixtures import add_contacts, numbers

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

NOW = dt.datetime(2026, 12, 7, 17, 0, 0)


@pytest.fixture
def broadcast(client, sandbox_channels):
    """A draft WhatsApp post's publication with its recipients made, all pending; returns (publication, rows)."""
    channel_id = sandbox_channels["whatsapp"]
    add_contacts(client, channel_id, numbers(12))
    response = client.post("/api/posts", json={"text": "Progress", "channels": [channel_id], "whatsapp": {
        "template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"], "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    publication_id = response.get_json()["publications"][0]["id"]
    with db.database.connection_context():
        assert ledger.prepare(publication_id, channel_id, "Everyone") == 12
        rows = [r.id for r in Recipient.select().where(Recipient.publication == publication_id).order_by(Recipient.id)]
    return publication_id, rows


def given(rows, status, **columns):
    Recipient.update(status=status, **columns).where(Recipient.id.in_(rows)).execute()


def publication(publication_id, status, next_attempt_at=None) -> Publication:
    """The row as a worker would have left it (in memory: the status moves are lifecycle's)."""
    p = Publication.get_by_id(publication_id)
    p.status, p.next_attempt_at = status, next_attempt_at
    return p


def test_a_running_broadcast_counts_each_recipient_once_and_ends_at_the_numbers_rate(broadcast):
    publication_id, rows = broadcast
    with db.database.connection_context():
        given(rows[0:2], "sent")
        given(rows[2:3], "delivered")
        given(rows[3:4], "read")
        given(rows[4:5], "sending")
        given(rows[5:6], "failed")
        given(rows[6:7], "opted_out")
        given(rows[7:8], "skipped")
        given(rows[8:9], "unconfirmed")
        given(rows[9:10], "waiting", not_before=NOW - dt.timedelta(seconds=1))  # its time has come: free to go
        p = progress.measure(publication(publication_id, "processing"), 2, NOW)
    assert (p.total, p.sent, p.delivered, p.read, p.sending, p.failed, p.unconfirmed) == (12, 4, 2, 1, 1, 3, 1)
    assert (p.pending, p.waiting, p.remaining, p.resumes_at, p.waiting_for) == (3, 0, 4, None, None)
    assert p.sent + p.sending + p.waiting + p.pending + p.failed + p.unconfirmed == p.total
    assert (p.expected_end, p.expected_end_basis, p.rate) == (NOW + dt.timedelta(seconds=2), "rate", 2)


def test_a_broadcast_slower_than_its_rate_is_estimated_at_the_pace_it_kept(broadcast):
    publication_id, rows = broadcast
    with db.database.connection_context():
        # Six taken over the last 5 s (1.2 a second), one long before: the number's 80 a second is not reached.
        for n, row in enumerate(rows[:6]):
            given([row], "sent", sending_at=NOW - dt.timedelta(seconds=5) + dt.timedelta(seconds=n))
        given(rows[6:7], "sent", sending_at=NOW - dt.timedelta(minutes=5))
        p = progress.measure(publication(publication_id, "processing"), 80, NOW)
    assert (p.sent, p.pending, p.rate, p.expected_end_basis) == (7, 5, 1.2, "pace")
    assert p.expected_end == NOW + dt.timedelta(seconds=5)  # 5 left at 1.2 a second: 4.2 s, rounded up


def test_a_broadcast_held_by_a_limit_ends_when_its_last_recipient_may_go(broadcast):
    publication_id, rows = broadcast
    resumes, last = NOW + dt.timedelta(hours=20), NOW + dt.timedelta(hours=23)
    with db.database.connection_context():
        given(rows[:8], "sent")
        given(rows[8:9], "waiting", not_before=resumes, error="Meta's pair rate limit (131056)")
        given(rows[9:10], "waiting", not_before=resumes, error="over the messaging limit of 8 people per 24 hours")
        given(rows[10:11], "waiting", not_before=last, error="over the messaging limit of 8 people per 24 hours")
        # Retrying at the earliest hold, as delivery.record_waiting leaves it.
        p = progress.measure(publication(publication_id, "retrying", resumes), 80, NOW)
    assert (p.sent, p.waiting, p.pending, p.remaining) == (8, 3, 1, 4)
    assert (p.resumes_at, p.expected_end, p.expected_end_basis) == (resumes, last, "limit")
    assert p.waiting_for == "messaging_limit"  # the hold that decides the end


def test_a_retrying_broadcast_resumes_at_its_next_attempt(broadcast):
    publication_id, rows = broadcast
    with db.database.connection_context():
        given(rows[:2], "sent")
        p = progress.measure(publication(publication_id, "retrying", NOW + dt.timedelta(minutes=1)), 5, NOW)
    assert (p.pending, p.expected_end, p.expected_end_basis) == (10, NOW + dt.timedelta(minutes=1, seconds=2), "rate")


@pytest.mark.parametrize("status", ["published", "partly_failed", "failed", "pending"])
def test_a_broadcast_not_being_worked_on_has_no_expected_end(broadcast, status):
    publication_id, rows = broadcast
    with db.database.connection_context():
        given(rows[:6], "read")
        given(rows[6:], "failed" if status != "pending" else "pending")
        p = progress.measure(publication(publication_id, status), 80, NOW)
    assert (p.expected_end, p.expected_end_basis) == (None, None)
    assert p.total == 12 and p.read == 6


def test_a_broadcast_with_nothing_left_to_send_has_no_expected_end(broadcast):
    publication_id, rows = broadcast
    with db.database.connection_context():
        given(rows[:11], "sent")
        given(rows[11:], "sending")  # Meta's answer on its way: nothing left to send
        p = progress.measure(publication(publication_id, "processing"), 80, NOW)
    assert (p.sent, p.sending, p.remaining, p.expected_end, p.expected_end_basis) == (11, 1, 1, None, None)


def test_progress_is_one_query_on_the_publications_recipients(broadcast, settings, caplog):
    publication_id, _ = broadcast
    with db.database.connection_context():
        p = publication(publication_id, "processing")
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            found = progress.of(p, settings, NOW)
    statements = [r.getMessage() for r in caplog.records if r.name == "peewee"]
    assert len(statements) == 2, statements  # the number's rate, then the counts
    assert "GROUP BY" in statements[1] and "publication_id" in statements[1]
    assert (found.pending, found.rate) == (12, settings.whatsapp_send_rate)
