"""Creates and upgrades the tables.

A new database is made as the models declare it now (``TABLES``), with what
the steps make beside tables (the monitor's triggers, PostgreSQL's trigram
index), and marked as having run every step: a baseline. An existing one runs
the steps of schema_steps.py it has not seen, each with the definitions frozen
in it (its docstring says why both, and how a test keeps them one schema).
``socialpub db upgrade``, ``socialpub up`` and (on SQLite) the web app's
start call ``upgrade``.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from peewee import PeeweeException, SqliteDatabase

from . import schema_steps
from .db import bind, database
from .models import TABLES, SchemaVersion
from .schema_steps import STEPS

logger = logging.getLogger(__name__)


def __getattr__(name: str):
    """A step by its name (``schema._recent``), as before the steps moved to schema_steps.py."""
    if name.startswith("_") and not name.startswith("__") and hasattr(schema_steps, name):
        return getattr(schema_steps, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _create_new_database():
    """Today's schema on an empty database: the models' tables with their
    indexes, and what only steps make — the triggers that keep the monitor's
    counts (which start at zero here) and the text search's trigram index."""
    from .metrics import recent, tally

    database.create_tables(TABLES)
    tally.install(database)
    recent.install(database)
    schema_steps._text_search()


def open_existing(settings):
    """Bind the database of ``settings`` for a command that needs its tables.

    Raises:
      SystemExit: one line naming the database and what to do, when it does
        not exist or has no tables — without creating a file or a folder.
    """
    fix = ("run `socialpub up` (or `socialpub db upgrade`) in the folder that holds instance/, or set "
           "SOCIALPUB_INSTANCE or SOCIALPUB_DATABASE_URL to yours")
    if settings.is_sqlite:
        path = Path(settings.database_url[len("sqlite:///"):])
        if not path.is_file():
            raise SystemExit(f"socialpub: no database at {path.resolve()}: {fix}")
    bound = bind(settings.database_url)
    try:
        with bound.connection_context():
            version = current_version()
    except PeeweeException as exc:
        raise SystemExit(f"socialpub: the database at {_shown(settings.database_url)} does not answer "
                         f"({str(exc).strip().splitlines()[0]})") from None
    if version == 0:
        raise SystemExit(f"socialpub: the database at {_shown(settings.database_url)} has no tables: {fix}")
    return bound


def _shown(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def current_version() -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def upgrade() -> tuple[int, int]:
    """Make a new database, or apply the steps an existing one has not seen,
    all in one transaction; return (version before, version after). On
    SQLite, foreign keys are off while steps run — a step may rebuild a table
    (SQLite's way to change one), and dropping the old table would fire its
    children's ON DELETE — and checked before the commit:
    an upgrade that would leave a reference broken is rolled back."""
    if not isinstance(database.obj, SqliteDatabase) or current_version() == len(STEPS):
        return _apply_steps(check_foreign_keys=False)
    was = database.execute_sql("PRAGMA foreign_keys").fetchone()[0]
    database.execute_sql("PRAGMA foreign_keys = OFF")  # outside the transaction: SQLite ignores it inside one
    try:
        return _apply_steps(check_foreign_keys=True)
    finally:
        database.execute_sql(f"PRAGMA foreign_keys = {was}")


def _apply_steps(check_foreign_keys: bool) -> tuple[int, int]:
    with database.atomic():
        database.create_tables([SchemaVersion])
        before = current_version()
        broken = _broken_references() if check_foreign_keys else set()
        if before == 0:
            logger.info("Applying schema step 1 to %d at once: a new database gets today's tables.", len(STEPS))
            _create_new_database()
            SchemaVersion.insert_many([{"version": n} for n in range(1, len(STEPS) + 1)]).execute()
        else:
            for number, step in enumerate(STEPS[before:], start=before + 1):
                logger.info("Applying schema step %d (%s).", number, step.__name__)
                step()
                SchemaVersion.create(version=number)
        if check_foreign_keys and (_broken_references() - broken):
            raise RuntimeError(f"the schema upgrade would break references (table, row, parent, key): "
                               f"{sorted(_broken_references() - broken)[:10]}; nothing was changed")
    return before, len(STEPS)


def _broken_references() -> set:
    """SQLite's rows whose foreign key names no row; compared before and after the
    steps, so that one broken before the upgrade does not stop it."""
    return set(database.execute_sql("PRAGMA foreign_key_check").fetchall())
