"""The peewee database: a proxy bound once at start-up to SQLite or PostgreSQL.

SQLite is the embedded default (one file in the instance folder, WAL so that
the web app and the worker processes read while one writes); PostgreSQL is
chosen by a ``postgresql://`` URL and pooled, one connection per thread.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from peewee import DatabaseProxy, SqliteDatabase
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase
from werkzeug.routing import IntegerConverter

database = DatabaseProxy()

#: The largest id either database can be asked about: a signed 64-bit integer.
#: SQLite's driver raises OverflowError past it, so nothing larger reaches a query.
MAX_ID = 2**63 - 1

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # Writers from several processes wait for each other instead of failing.
    "busy_timeout": 15_000,
    "foreign_keys": 1,
    "synchronous": "normal",
}


def make_database(url: str):
    """Return an unbound-free peewee Database for ``url`` (sqlite:/// or postgresql://)."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if scheme in ("postgres", "postgresql"):
        params = parse_url(url)
        name = params.pop("database")
        return PooledPostgresqlDatabase(
            name, max_connections=64, stale_timeout=300, timeout=10, **params
        )
    raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url!r}")


def bind(url: str):
    """Point the proxy at the database for ``url`` and return it."""
    db = make_database(url)
    database.initialize(db)
    return db


def supports_row_locks() -> bool:
    """SQLite serialises writers itself and has no SELECT … FOR UPDATE."""
    return bool(database.obj and database.obj.for_update)


def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock at BEGIN
    (IMMEDIATE): a deferred transaction that reads first and writes later fails
    at once with "database is locked" when another process wrote in between,
    where an immediate one simply waits its turn (busy_timeout)."""
    if isinstance(database.obj, SqliteDatabase):
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()


class IdConverter(IntegerConverter):
    """``<int:…>`` in every URL of the app: an id from 1 to :data:`MAX_ID`, in
    ASCII digits. Anything else matches no route (a 404), where Werkzeug's own
    converter takes any Unicode digits, and any length (a 5,000-digit id is a
    ValueError, and one past 64 bits an OverflowError on SQLite)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
