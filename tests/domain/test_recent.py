"""The monitor's recent outcomes and attempt times (metrics/recent.py): read
from counts by the minute and the hour that triggers and folds keep, always
equal to counting the tables over the same window (to the minute)."""
from __future__ import annotations

import datetime as dt
import math
import random
import threading

import pytest
from peewee import SqliteDatabase, fn
from playhouse.migrate import SchemaMigrator, migrate

from socialpub import db, schema
from socialpub.metrics import recent, tally
from socialpub.models import (
    Attempt,
    AttemptDelta,
    Post,
    Publication,
    PublicationStatus,
    RecentAttempts,
    RecentOutcome,
    SchemaVersion,
    utcnow,
)

#: How long ago each publication finished: inside the hour, the day, and past both.
AGES = [dt.timedelta(minutes=m) for m in (1, 20, 59, 61, 150, 23 * 60 + 50, 24 * 60 + 30, 30 * 60)]
WINDOWS = (dt.timedelta(hours=1), dt.timedelta(days=1))


def counted_outcomes(since) -> dict:
    start = since.replace(second=0, microsecond=0)
    return {(n, s): c for n, s, c in Publication.select(Publication.network, Publication.status,
                                                        fn.COUNT(Publication.id))
            .where((Publication.finished_at >= start) & Publication.status.in_(PublicationStatus.FINAL))
            .group_by(Publication.network, Publication.status).tuples()}


def counted_durations(since) -> dict:
    start = since.replace(second=0, microsecond=0)
    durations = {}
    for network, started, finished in (Attempt.select(Publication.network, Attempt.started_at, Attempt.finished_at)
                                       .join(Publication).where(Attempt.finished_at >= start).tuples()):
        durations.setdefault(network, []).append((finished - started).total_seconds())
    return {n: sorted(d) for n, d in durations.items()}


def finish(channel, network, status, ago, durations=(1.0,)):
    """A publication that ended ``ago`` in ``status``, with one attempt per duration."""
    finished = utcnow() - ago
    pub = Publication.create(post=Post.create(text="recent"), channel=channel, network=network, text="x",
                             status=PublicationStatus.PROCESSING)
    for number, seconds in enumerate(durations, 1):
        Attempt.create(publication=pub, number=number, started_at=finished - dt.timedelta(seconds=seconds),
                       finished_at=finished, outcome=status)
    Publication.update(status=status, finished_at=finished).where(Publication.id == pub.id).execute()
    return pub


def assert_recent_equals_the_tables(now):
    for window in WINDOWS:
        since = now - window
        assert recent.outcomes(since) == counted_outcomes(since)
        times, durations = recent.attempt_times(since), counted_durations(since)
        assert set(times) == set(durations)
        for network, values in durations.items():
            assert times[network]["attempts"] == len(values)
            assert times[network]["avg_s"] == pytest.approx(sum(values) / len(values), abs=0.001)
            assert times[network]["p95_s"] == pytest.approx(values[math.ceil(0.95 * len(values)) - 1], rel=0.05)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_recent_counts_equal_the_tables_before_and_after_folds_and_follow_changes(app, sandbox_channels):
    rng = random.Random(7)
    with db.database.connection_context():
        for age in AGES:
            for network, status in (("facebook", "published"), ("linkedin", "failed"),
                                    ("instagram", "unconfirmed")):
                finish(sandbox_channels[network], network, status, age,
                       [rng.uniform(0.05, 8) for _ in range(rng.randint(1, 3))])
        now = utcnow()
        assert_recent_equals_the_tables(now)  # nothing folded: all from the deltas
        assert tally.fold() > 0 and recent.fold_attempts() > 0
        assert_recent_equals_the_tables(now)  # all from the counts

        # A final status that changes (confirmed later) moves its count; a deleted post takes its outcome away.
        late = Publication.select().where(Publication.status == "unconfirmed").order_by(Publication.id).first()
        Publication.update(status="published").where(Publication.id == late.id).execute()
        assert_recent_equals_the_tables(now)
        tally.fold()
        assert_recent_equals_the_tables(now)
        gone = Publication.select().where(Publication.status == "failed").order_by(Publication.id).first()
        before = recent.outcomes(now - dt.timedelta(hours=1))[("linkedin", "failed")]
        Attempt.delete().where(Attempt.publication == gone.id).execute()
        Publication.delete().where(Publication.id == gone.id).execute()
        tally.fold()
        assert recent.outcomes(now - dt.timedelta(hours=1))[("linkedin", "failed")] == before - 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_many_attempts_give_an_exact_average_and_a_95th_percentile_within_five_percent(app, sandbox_channels):
    rng = random.Random(11)
    durations = [rng.lognormvariate(0, 0.8) for _ in range(400)]
    with db.database.connection_context():
        for i in range(0, len(durations), 4):
            finish(sandbox_channels["facebook"], "facebook", "published", dt.timedelta(minutes=i % 50),
                   durations[i:i + 4])
        recent.fold_attempts()
        times = recent.attempt_times(utcnow() - dt.timedelta(hours=1))["facebook"]
    values = sorted(durations)
    assert times["attempts"] == 400
    assert times["avg_s"] == pytest.approx(sum(values) / 400, abs=0.001)
    assert times["p95_s"] == pytest.approx(values[math.ceil(0.95 * 400) - 1], rel=0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_install_counts_the_last_day_from_the_tables_and_folds_forget_what_is_past_keep(app, sandbox_channels):
    with db.database.connection_context():
        for age in AGES:
            finish(sandbox_channels["facebook"], "facebook", "published", age, [0.5, 2.0])
        now = utcnow()
        tally.install(db.database)  # as the schema step does: the deltas dropped, counted again
        recent.install(db.database)
        assert_recent_equals_the_tables(now)
        # Rows written past KEEP (their finish was 30 h ago) are forgotten at the next fold.
        old = utcnow() - dt.timedelta(hours=30)
        RecentOutcome.insert(span=recent.HOUR, start=old.replace(minute=0, second=0, microsecond=0),
                             network="facebook", status="published", count=5).execute()
        recent.fold_attempts()
        assert not RecentOutcome.select().where(RecentOutcome.start < utcnow() - recent.KEEP).exists()
        assert_recent_equals_the_tables(now)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_reads_while_folds_run_never_count_a_fold_twice_or_not_at_all(app, sandbox_channels):
    """Publications only ever finish here, so each read must see at least what
    the one before it saw, and the last one all of them."""
    with db.database.connection_context():
        ids = [Publication.create(post=Post.create(text=f"p{i}"), channel=sandbox_channels["facebook"],
                                  network="facebook", text="x", status="processing").id for i in range(150)]
    since = utcnow() - dt.timedelta(hours=1)
    errors, seen = [], []

    def finish_all():
        with db.database.connection_context():
            for pub_id in ids:
                Publication.update(status="published", finished_at=utcnow()).where(Publication.id == pub_id).execute()

    def fold_often(stop):
        with db.database.connection_context():
            while not stop.is_set():
                tally.fold(limit=7)

    def read_often(stop):
        with db.database.connection_context():
            while not stop.is_set():
                seen.append(recent.outcomes(since).get(("facebook", "published"), 0))

    stop = threading.Event()
    helpers = [threading.Thread(target=fold_often, args=(stop,)), threading.Thread(target=read_often, args=(stop,))]
    for thread in helpers:
        thread.start()
    try:
        finish_all()
    except Exception as exc:  # noqa: BLE001 — reported below
        errors.append(exc)
    stop.set()
    for thread in helpers:
        thread.join()
    assert not errors
    assert len(seen) > 10 and seen == sorted(seen)
    with db.database.connection_context():
        assert recent.outcomes(since)[("facebook", "published")] == 150


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_a_database_from_before_the_recent_counts_counts_its_last_day(app, sandbox_channels):
    step = schema.STEPS.index(schema._recent) + 1
    with db.database.connection_context():
        for age in AGES:
            finish(sandbox_channels["linkedin"], "linkedin", "published", age, [0.4, 3.0])
        # As the database was before this step: its triggers, tables and column not there.
        on = "" if isinstance(db.database.obj, SqliteDatabase) else " ON publication"
        for trigger in ("publication_delta_rows", "publication_delta_insert", "publication_delta_delete",
                        "publication_delta_status"):
            db.database.execute_sql(f"DROP TRIGGER IF EXISTS {trigger}{on}")
        db.database.execute_sql("DROP TRIGGER IF EXISTS attempt_delta" + on.replace("publication", "attempt"))
        db.database.drop_tables([AttemptDelta, RecentOutcome, RecentAttempts])
        migrate(SchemaMigrator.from_database(db.database.obj).drop_column("publicationdelta", "finished_at"))
        SchemaVersion.delete().where(SchemaVersion.version >= step).execute()

        assert schema.upgrade()[0] == step - 1
        assert_recent_equals_the_tables(utcnow())
        # And the triggers count what happens next.
        finish(sandbox_channels["linkedin"], "linkedin", "failed", dt.timedelta(minutes=3), [1.5])
        assert_recent_equals_the_tables(utcnow())
