"""How many publications each network has in each status, without counting
the table: database triggers write a +1 and a −1 row (``publicationdelta``)
in the very transaction of every INSERT, DELETE and status change of a
publication, whoever makes it; ``fold`` adds them into ``publicationtally``
every minute (the reconciler's run), and what finished lately into the
recent outcomes (metrics/recent.py). A read sums the tally and the few deltas
not yet folded — exact, and as cheap at a million publications as at ten.

Deltas are only ever inserted, so concurrent status changes never wait on a
shared counter row (nor deadlock on one); only ``fold`` updates the tally.
"""
from __future__ import annotations

from peewee import fn

from ..db import supports_row_locks, take_oldest, write_transaction
from ..models import PublicationDelta, PublicationTally
from . import recent

#: The triggers, per database. PostgreSQL's run once per changed row.
POSTGRES_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION socialpub_publication_delta() RETURNS trigger AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO publicationdelta (network, status, change, finished_at)
        VALUES (OLD.network, OLD.status, -1, OLD.finished_at);
      END IF;
      IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO publicationdelta (network, status, change, finished_at)
        VALUES (NEW.network, NEW.status, 1, NEW.finished_at);
      END IF;
      RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS publication_delta_rows ON publication",
    "DROP TRIGGER IF EXISTS publication_delta_status ON publication",
    """CREATE TRIGGER publication_delta_rows AFTER INSERT OR DELETE ON publication
       FOR EACH ROW EXECUTE FUNCTION socialpub_publication_delta()""",
    # finished_at too: the recent outcomes (metrics/recent.py) count by the minute a publication ended.
    """CREATE TRIGGER publication_delta_status AFTER UPDATE OF status, network, finished_at ON publication
       FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.network IS DISTINCT FROM NEW.network
                          OR OLD.finished_at IS DISTINCT FROM NEW.finished_at)
       EXECUTE FUNCTION socialpub_publication_delta()""",
)
SQLITE_TRIGGERS = (
    "DROP TRIGGER IF EXISTS publication_delta_insert",
    "DROP TRIGGER IF EXISTS publication_delta_delete",
    "DROP TRIGGER IF EXISTS publication_delta_status",
    """CREATE TRIGGER publication_delta_insert AFTER INSERT ON publication BEGIN
       INSERT INTO publicationdelta (network, status, change, finished_at)
       VALUES (NEW.network, NEW.status, 1, NEW.finished_at); END""",
    """CREATE TRIGGER publication_delta_delete AFTER DELETE ON publication BEGIN
       INSERT INTO publicationdelta (network, status, change, finished_at)
       VALUES (OLD.network, OLD.status, -1, OLD.finished_at); END""",
    """CREATE TRIGGER publication_delta_status AFTER UPDATE OF status, network, finished_at ON publication
       WHEN OLD.status IS NOT NEW.status OR OLD.network IS NOT NEW.network
            OR OLD.finished_at IS NOT NEW.finished_at BEGIN
       INSERT INTO publicationdelta (network, status, change, finished_at)
       VALUES (OLD.network, OLD.status, -1, OLD.finished_at);
       INSERT INTO publicationdelta (network, status, change, finished_at)
       VALUES (NEW.network, NEW.status, 1, NEW.finished_at); END""",
)


def install(database) -> None:
    """Create the triggers and start the tally from a count of the table, in the
    caller's transaction (the schema step: nothing changes publications then)."""
    for statement in (POSTGRES_TRIGGERS if supports_row_locks() else SQLITE_TRIGGERS):
        database.execute_sql(statement)
    from ..models import Publication

    PublicationDelta.delete().execute()
    PublicationTally.delete().execute()
    rows = list(Publication.select(Publication.network, Publication.status, fn.COUNT(Publication.id))
                .group_by(Publication.network, Publication.status).tuples())
    if rows:
        PublicationTally.insert_many([{"network": n, "status": s, "count": c} for n, s, c in rows]).execute()


def counts() -> dict:
    """``{(network, status): count}`` of the statuses that have publications."""
    totals = {}
    folded = PublicationTally.select(PublicationTally.network, PublicationTally.status, PublicationTally.count)
    unfolded = (PublicationDelta.select(PublicationDelta.network, PublicationDelta.status,
                                        fn.SUM(PublicationDelta.change))
                .group_by(PublicationDelta.network, PublicationDelta.status))
    # One statement, so one snapshot: a fold between two reads would count its deltas twice or not at all.
    for network, status, count in folded.union_all(unfolded).tuples():
        totals[(network, status)] = totals.get((network, status), 0) + int(count)
    return totals


def fold(limit: int = 100_000) -> int:
    """Add the oldest deltas (at most ``limit``) into the tally, in one
    transaction; returns how many were folded. The deltas summed are exactly
    those deleted (one DELETE … RETURNING): a delta committed meanwhile stays
    for the next fold."""
    with write_transaction():
        moved = take_oldest(PublicationDelta, limit, PublicationDelta.network, PublicationDelta.status,
                            PublicationDelta.change, PublicationDelta.finished_at)
        if not moved:
            return 0
        sums = {}
        for network, status, change, _ in moved:
            sums[(network, status)] = sums.get((network, status), 0) + change
        for (network, status), change in sums.items():
            (PublicationTally.insert(network=network, status=status, count=change)
             .on_conflict(conflict_target=[PublicationTally.network, PublicationTally.status],
                          update={PublicationTally.count: PublicationTally.count + change})
             .execute())
        recent.add_outcomes(moved)
        return len(moved)
