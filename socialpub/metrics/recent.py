"""What finished lately — the monitor's "last hour" and "last 24 h" — read
from counts by the minute and by the hour, not from the history: a busy day
costs the monitor what a quiet one does.

The publications' deltas (metrics/tally.py) carry the ``finished_at`` of the
row they count; a trigger on ``attempt`` writes an ``attemptdelta`` (network,
end, duration) in the transaction that records each attempt. The folds
(the tally's, every minute, and ``fold_attempts``) add them to one row per
minute and one per hour of ``recentoutcome`` and ``recentattempts``, and
forget rows older than ``KEEP``. A window's read takes the hours it covers
whole, the minutes before its first whole hour and the deltas not yet
folded: at most 84 rows per network and status (or duration bucket). It is
exact to the minute: a window starts at the start of the minute ``since``
falls in.

Durations are counted in buckets 5 % wide (``GROWTH``), each with its count
and total seconds: the average is exact, and the 95th percentile is the mean
duration of the bucket the 95th-percentile attempt falls in — within 5 % of
the true one, exact when that bucket's attempts all took one time. Attempts
stay counted when their post is deleted later: they were made.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from peewee import EXCLUDED, Value, fn

from ..db import supports_row_locks, take_oldest, write_transaction
from ..models import (
    Attempt,
    AttemptDelta,
    Publication,
    PublicationDelta,
    PublicationStatus,
    RecentAttempts,
    RecentOutcome,
    utcnow,
)

MINUTE, HOUR = "minute", "hour"
#: Rows older than this are forgotten: the longest window is a day, and its
#: first minutes are read by the minute.
KEEP = dt.timedelta(hours=26)
#: One duration bucket's upper bound over its lower one.
GROWTH = 1.05
#: Durations below this (or negative: a clock step) count as this.
SHORTEST_S = 0.001

POSTGRES_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION socialpub_attempt_delta() RETURNS trigger AS $$
    BEGIN
      INSERT INTO attemptdelta (network, finished_at, seconds)
      SELECT network, NEW.finished_at, EXTRACT(EPOCH FROM NEW.finished_at - NEW.started_at)
      FROM publication WHERE id = NEW.publication_id;
      RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS attempt_delta ON attempt",
    """CREATE TRIGGER attempt_delta AFTER INSERT ON attempt
       FOR EACH ROW EXECUTE FUNCTION socialpub_attempt_delta()""",
)
SQLITE_TRIGGERS = (
    "DROP TRIGGER IF EXISTS attempt_delta",
    """CREATE TRIGGER attempt_delta AFTER INSERT ON attempt BEGIN
       INSERT INTO attemptdelta (network, finished_at, seconds)
       SELECT network, NEW.finished_at, (julianday(NEW.finished_at) - julianday(NEW.started_at)) * 86400.0
       FROM publication WHERE id = NEW.publication_id; END""",
)


def install(database) -> None:
    """Create the trigger and count the last ``KEEP`` from the tables, in the
    caller's transaction, after ``tally.install`` (which drops the
    publications' deltas: they would count twice)."""
    for statement in (POSTGRES_TRIGGERS if supports_row_locks() else SQLITE_TRIGGERS):
        database.execute_sql(statement)
    AttemptDelta.delete().execute()
    RecentOutcome.delete().execute()
    RecentAttempts.delete().execute()
    since = utcnow() - KEEP
    add_outcomes((network, status, 1, finished) for network, status, finished in
                 Publication.select(Publication.network, Publication.status, Publication.finished_at)
                 .where(Publication.finished_at >= since).tuples().iterator())
    _add_attempts((network, finished, (finished - started).total_seconds()) for network, started, finished in
                  Attempt.select(Publication.network, Attempt.started_at, Attempt.finished_at).join(Publication)
                  .where(Attempt.finished_at >= since).tuples().iterator())


def add_outcomes(deltas) -> None:
    """Count ``(network, status, ±1, finished_at)`` deltas of final statuses
    ended within ``KEEP`` (the tally's fold calls this in its transaction)."""
    counts = defaultdict(int)
    oldest = utcnow() - KEEP
    for network, status, change, finished in deltas:
        if finished is not None and finished >= oldest and status in PublicationStatus.FINAL:
            for span, start in _spans(finished):
                counts[(span, start, network, status)] += change
    rows = [{"span": span, "start": start, "network": network, "status": status, "count": change}
            for (span, start, network, status), change in counts.items() if change]
    if rows:
        (RecentOutcome.insert_many(rows)
         .on_conflict(conflict_target=[RecentOutcome.span, RecentOutcome.start, RecentOutcome.network,
                                       RecentOutcome.status],
                      update={RecentOutcome.count: RecentOutcome.count + EXCLUDED.count})
         .execute())


def fold_attempts(limit: int = 100_000) -> int:
    """Add the oldest attempt deltas (at most ``limit``) into the counts and
    forget the rows past ``KEEP``, in one transaction; returns how many were folded."""
    with write_transaction():
        moved = take_oldest(AttemptDelta, limit, AttemptDelta.network, AttemptDelta.finished_at,
                            AttemptDelta.seconds)
        _add_attempts(moved)
        oldest = utcnow() - KEEP
        RecentOutcome.delete().where(RecentOutcome.start < oldest).execute()
        RecentAttempts.delete().where(RecentAttempts.start < oldest).execute()
        return len(moved)


def _add_attempts(deltas) -> None:
    sums = defaultdict(lambda: [0, 0.0])
    oldest = utcnow() - KEEP
    for network, finished, seconds in deltas:
        if finished >= oldest:
            seconds = max(SHORTEST_S, seconds)
            for span, start in _spans(finished):
                cell = sums[(span, start, network, _bucket(seconds))]
                cell[0] += 1
                cell[1] += seconds
    rows = [{"span": span, "start": start, "network": network, "bucket": bucket, "count": count,
             "seconds": seconds} for (span, start, network, bucket), (count, seconds) in sums.items()]
    if rows:
        (RecentAttempts.insert_many(rows)
         .on_conflict(conflict_target=[RecentAttempts.span, RecentAttempts.start, RecentAttempts.network,
                                       RecentAttempts.bucket],
                      update={RecentAttempts.count: RecentAttempts.count + EXCLUDED.count,
                              RecentAttempts.seconds: RecentAttempts.seconds + EXCLUDED.seconds})
         .execute())


def outcomes(since) -> dict:
    """``{(network, status): count}`` of the publications that reached a final
    status since the start of ``since``'s minute."""
    counts = defaultdict(int)
    kept = (RecentOutcome.select(RecentOutcome.network, RecentOutcome.status, fn.SUM(RecentOutcome.count))
            .where(_window(RecentOutcome, since)).group_by(RecentOutcome.network, RecentOutcome.status))
    unfolded = (PublicationDelta.select(PublicationDelta.network, PublicationDelta.status,
                                        fn.SUM(PublicationDelta.change))
                .where((PublicationDelta.finished_at >= _minute(since))
                       & PublicationDelta.status.in_(PublicationStatus.FINAL))
                .group_by(PublicationDelta.network, PublicationDelta.status))
    # One statement, so one snapshot: a fold between two reads would count its deltas twice or not at all.
    for network, status, count in kept.union_all(unfolded).tuples():
        counts[(network, status)] += int(count)
    return {key: count for key, count in counts.items() if count}


def attempt_times(since) -> dict:
    """``{network: {"attempts", "avg_s", "p95_s"}}`` of the attempts that ended
    since the start of ``since``'s minute (networks without attempts left out)."""
    kept = (RecentAttempts.select(RecentAttempts.network, RecentAttempts.bucket, fn.SUM(RecentAttempts.count),
                                  fn.SUM(RecentAttempts.seconds))
            .where(_window(RecentAttempts, since)).group_by(RecentAttempts.network, RecentAttempts.bucket))
    # The unfolded deltas in the same statement (one snapshot), their bucket left to _bucket.
    unfolded = (AttemptDelta.select(AttemptDelta.network, Value(None), Value(1), AttemptDelta.seconds)
                .where(AttemptDelta.finished_at >= _minute(since)))
    buckets = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for network, bucket, count, seconds in kept.union_all(unfolded).tuples():
        if bucket is None:
            seconds = max(SHORTEST_S, seconds)
            bucket = _bucket(seconds)
        cell = buckets[network][bucket]
        cell[0] += int(count)
        cell[1] += float(seconds)
    return {network: _summary(cells) for network, cells in buckets.items()}


def _summary(cells: dict) -> dict:
    attempts = sum(count for count, _ in cells.values())
    total = sum(seconds for _, seconds in cells.values())
    # Nearest rank: the bucket holding the smallest duration that 95 % of attempts do not exceed.
    rank, seen, p95 = math.ceil(0.95 * attempts), 0, None
    for bucket in sorted(cells):
        count, seconds = cells[bucket]
        seen += count
        if seen >= rank:
            p95 = seconds / count
            break
    return {"attempts": attempts, "avg_s": round(total / attempts, 3), "p95_s": round(p95, 3)}


def _window(model, since):
    """The hours wholly after ``since``'s minute, and the minutes before the first of them."""
    first = _minute(since)
    first_hour = _hour(first) if first == _hour(first) else _hour(first) + dt.timedelta(hours=1)
    return (((model.span == HOUR) & (model.start >= first_hour))
            | ((model.span == MINUTE) & (model.start >= first) & (model.start < first_hour)))


def _spans(at):
    return (MINUTE, _minute(at)), (HOUR, _hour(at))


def _minute(at):
    return at.replace(second=0, microsecond=0)


def _hour(at):
    return at.replace(minute=0, second=0, microsecond=0)


def _bucket(seconds: float) -> int:
    return math.ceil(math.log(seconds, GROWTH))
