"""The outbox's machine (socialpub/outbox.py), on the real database: one
worker claims a row, a dead worker's row is claimed again past its lease, a
used-up schedule ends in failed, and the reconciler re-drives only the lost
rows, each once. E-mail rows stand for every kind of outbox row."""
from __future__ import annotations

import datetime as dt

import pytest

from socialpub import db
from socialpub.models import Email, utcnow
from socialpub.outbox import Outbox
from socialpub.statuses import EmailStatus as E

MINUTE = dt.timedelta(minutes=1)
BOX = Outbox(Email, E.SENT, schedule=(MINUTE, 5 * MINUTE), lease=2 * MINUTE, grace=MINUTE, noun="e-mails",
             forget={"body": None})

both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def rows(app):
    """``rows(**columns)``: a new e-mail row, due now unless told otherwise."""
    with db.database.connection_context():
        yield lambda **columns: Email.create(**{"to": "someone@example.com", "subject": "s", "body": "b",
                                                "status": E.PENDING, **columns}).id


def status(row_id: int) -> tuple:
    row = Email.get_by_id(row_id)
    return row.status, row.attempts


@both_databases
def test_a_row_is_claimed_once_and_a_second_claim_of_it_fails(rows):
    row_id, now = rows(), utcnow()
    assert BOX.claim(row_id, now) is True
    assert BOX.claim(row_id, now) is False
    assert status(row_id) == (E.SENDING, 1)


def test_a_row_due_later_is_not_claimed_before_its_time(rows):
    row_id, now = rows(next_attempt_at=utcnow() + MINUTE), utcnow()
    assert BOX.claim(row_id, now) is False
    assert BOX.claim(row_id, now + MINUTE) is True


@both_databases
def test_a_sending_row_past_its_lease_is_claimed_again_and_not_before(rows):
    row_id, now = rows(), utcnow()
    assert BOX.claim(row_id, now)
    assert BOX.claim(row_id, now + BOX.lease - dt.timedelta(seconds=1)) is False  # its worker may still run
    assert BOX.claim(row_id, now + BOX.lease + dt.timedelta(seconds=1)) is True  # its worker died
    assert status(row_id) == (E.SENDING, 2)


def test_a_settled_row_is_settled_once_and_forgets_what_it_must(rows):
    row_id = rows()
    assert BOX.claim(row_id, utcnow())
    assert BOX.settle_sent(row_id, last_error=None) is True
    assert BOX.settle_sent(row_id, last_error=None) is False  # a worker that took it over finds it settled
    assert BOX.fail(row_id, "too late") is False
    row = Email.get_by_id(row_id)
    assert (row.status, row.body, row.last_error) == (E.SENT, None, None)


@both_databases
def test_each_failed_try_waits_the_schedules_pause_and_the_schedule_runs_out_into_failed(rows):
    row_id = rows()
    waits = []
    for _ in range(len(BOX.schedule) + 1):
        now = utcnow() + dt.timedelta(hours=len(waits))  # each try once the last pause is over
        assert BOX.claim(row_id, now)
        waits.append(BOX.retry_later(Email.get_by_id(row_id), f"refused {len(waits) + 1}",
                                     gave_up=f"refused {len(waits) + 1}; gave up"))
    assert waits == [60_000, 300_000, None]
    row = Email.get_by_id(row_id)
    assert (row.status, row.attempts, row.last_error, row.body) == (E.FAILED, 3, "refused 3; gave up", None)
    assert BOX.claim(row_id, utcnow() + dt.timedelta(days=1)) is False  # failed is final


def test_a_retry_waits_at_least_what_it_is_asked_to_and_keeps_its_body(rows):
    row_id = rows()
    assert BOX.claim(row_id, utcnow())
    assert BOX.retry_later(Email.get_by_id(row_id), "busy", at_least=10 * MINUTE) == 600_000
    row = Email.get_by_id(row_id)
    assert (row.status, row.last_error, row.body) == (E.PENDING, "busy", "b")
    assert row.next_attempt_at > utcnow() + 9 * MINUTE


def test_jitter_spreads_the_pause_within_its_bounds(rows):
    jittery = Outbox(Email, E.SENT, schedule=(MINUTE,), lease=2 * MINUTE, grace=MINUTE, noun="e-mails", jitter=0.2)
    pauses = set()
    for _ in range(5):
        row_id = rows()
        assert jittery.claim(row_id, utcnow())
        pauses.add(jittery.retry_later(Email.get_by_id(row_id), "refused"))
    assert all(48_000 <= p <= 72_000 for p in pauses) and len(pauses) > 1


@both_databases
def test_the_reconciler_re_drives_only_the_lost_rows_and_each_once(rows):
    long_ago = utcnow() - dt.timedelta(hours=1)
    lost_pending = rows(next_attempt_at=long_ago, touched_at=long_ago)  # its message never came
    lost_sending = rows(status=E.SENDING, attempts=1, touched_at=long_ago)  # its worker died
    rows()  # due now: its message is on its way
    rows(next_attempt_at=utcnow() + dt.timedelta(hours=1), touched_at=long_ago)  # a retry due later
    rows(status=E.SENDING, attempts=1, touched_at=utcnow())  # a worker has it
    rows(next_attempt_at=long_ago, touched_at=utcnow())  # re-driven a moment ago
    rows(status=E.DIGEST, next_attempt_at=long_ago, touched_at=long_ago)  # waits for its digest
    rows(status=E.SENT, touched_at=long_ago)
    rows(status=E.FAILED, touched_at=long_ago)
    sent = []
    assert BOX.redrive(sent.append) == 2
    assert sorted(sent) == [lost_pending, lost_sending]
    assert BOX.redrive(sent.append) == 0  # a second reconciler finds nothing more
    assert sorted(sent) == [lost_pending, lost_sending]
    # Both are pending and due again, so the message re-sent for each is the one that claims it.
    assert [Email.get_by_id(i).status for i in sorted(sent)] == [E.PENDING, E.PENDING]
    assert BOX.claim(lost_sending, utcnow()) and BOX.claim(lost_pending, utcnow())


@both_databases
def test_two_reconcilers_that_read_the_same_lost_rows_send_each_once(rows):
    long_ago = utcnow() - dt.timedelta(hours=1)
    first, second = (rows(next_attempt_at=long_ago, touched_at=long_ago) for _ in range(2))
    sent = []

    def send_and_let_another_reconciler_run(row_id):
        sent.append(row_id)
        if len(sent) == 1:  # the other one runs while this one still holds both rows as it read them
            assert BOX.redrive(sent.append) == 1

    # The other reconciler re-drove the second row; this one's UPDATE on the touched_at it read finds nothing.
    assert BOX.redrive(send_and_let_another_reconciler_run) == 1
    assert sent == [first, second]


def test_the_reconciler_takes_a_batch_at_a_time(rows):
    long_ago = utcnow() - dt.timedelta(hours=1)
    lost = [rows(next_attempt_at=long_ago, touched_at=long_ago) for _ in range(3)]
    sent = []
    assert BOX.redrive(sent.append, batch=2) == 2 and sent == lost[:2]
    assert BOX.redrive(sent.append, batch=2) == 1 and sent == lost
