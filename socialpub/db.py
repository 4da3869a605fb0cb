"""The peewee database: a proxy bound once at start-up to SQLite or PostgreSQL.

SQLite is the embedded default (one file in the instance folder, WAL so that
the web app and the worker processes read while one writes); PostgreSQL is
chosen by a ``postgresql://`` URL and pooled, one connection per thread.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

from dramatiq.middleware.time_limit import TimeLimitExceeded
from peewee import ColumnBase, DatabaseProxy, InterfaceError, OperationalError, SqliteDatabase, fn
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

database = DatabaseProxy()
logger = logging.getLogger(__name__)

#: The largest id taken, in URLs and in bodies: 18 digits. A signed 64-bit
#: integer (PostgreSQL's bigint; SQLite's driver raises OverflowError past it)
#: goes a little further, but an id that fits a plain pattern keeps routing simple.
MAX_ID = 10**18 - 1

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # Writers from several processes wait for each other instead of failing.
    "busy_timeout": 15_000,
    "foreign_keys": 1,
    "synchronous": "normal",
}


#: A pooled connection that came back to the pool longer ago than this is
#: checked with a ``SELECT 1`` before it is handed out again (it may have been
#: cut while idle: a PostgreSQL restart); one used more recently is handed out
#: as it is. Peewee's pool checks every time: a round trip per request and per
#: message.
PING_AFTER_IDLE_S = 2.0


#: PostgreSQL connections per process at most, whatever its thread count: a
#: thread holds one only while it runs SQL (a worker thread gives it back before
#: it calls a network), and waits up to 10 s for one when all are taken.
POOL_SIZE = 16


class PooledPostgres(PooledPostgresqlDatabase):
    """Peewee's PostgreSQL pool, pinging only the connections that sat idle.
    A connection that breaks while in use is discarded when it is returned
    (psycopg2 marks it closed), and the work it failed is retried."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._returned_at = {}

    def _is_closed(self, conn):
        returned = self._returned_at.pop(self.conn_key(conn), None)
        if (not conn.closed and returned is not None
                and time.monotonic() - returned < PING_AFTER_IDLE_S
                and conn.get_transaction_status() == TRANSACTION_STATUS_IDLE):
            return False
        return super()._is_closed(conn)

    def _close(self, conn, close_conn=False):
        if not close_conn:
            self._returned_at[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)


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
        return PooledPostgres(
            name, max_connections=POOL_SIZE, stale_timeout=300, timeout=10, **params
        )
    raise ValueError(f"SOCIALPUB_DATABASE_URL must start with sqlite:/// or postgresql://, not {url!r}")


def bind(url: str):
    """Point the proxy at the database for ``url`` and return it."""
    db = make_database(url)
    database.initialize(db)
    return db


class Slot(ColumnBase):
    """A named parameter of a :class:`Prepared` statement: compiled as a
    placeholder, given its value each time the statement runs."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def __sql__(self, ctx):
        # The converter in force where the slot stands (a field's db_value when
        # it is compared with one) is applied to each value it is given.
        ctx._values.append(_Bound(self.name, ctx.state.converter))
        return ctx.literal(ctx.state.param or "?")


@dataclass(frozen=True)
class _Bound:
    name: str
    converter: Optional[Callable]


class Prepared:
    """A peewee query compiled to SQL once per database, then run with new
    values for its :class:`Slot` s. Building the SQL of a query with joins and
    many columns costs peewee about a millisecond each time; on the hot paths
    (the claim, the outcome, the publish request) that was the largest part of
    their CPU.

        CLAIM = Prepared(lambda: Publication.update(…).where(Publication.id == Slot("id")))
        cursor = CLAIM.execute(id=7)
    """

    def __init__(self, build: Callable):
        self.build = build
        self._compiled = (None, None, None)

    def execute(self, **values):
        """Run the statement with ``values`` for its slots; return the cursor."""
        db, sql, params = self._compiled
        if db is not database.obj:
            sql, params = self.build().sql()
            self._compiled = (database.obj, sql, params)
        bound = [(p.converter(values[p.name]) if p.converter else values[p.name])
                 if isinstance(p, _Bound) else p for p in params]
        return database.execute_sql(sql, bound)


def row_to(model, fields, row):
    """A ``model`` instance from the values of ``fields`` as the database returned them."""
    return model(**{f.name: f.python_value(v) for f, v in zip(fields, row)})


def take_oldest(model, limit: int, *fields) -> list:
    """Delete the oldest ``limit`` rows of ``model`` (by id) and return their
    ``fields`` as tuples, in one DELETE … RETURNING: a row committed meanwhile
    with a lower id than those taken stays for the next call."""
    last = (model.select(model.id).order_by(model.id).offset(limit - 1).limit(1).scalar()
            or model.select(fn.MAX(model.id)).scalar())
    if last is None:
        return []
    return list(model.delete().where(model.id <= last).returning(*fields).tuples().execute())


def supports_row_locks() -> bool:
    """SQLite serialises writers itself and has no SELECT … FOR UPDATE."""
    return bool(database.obj and database.obj.for_update)


@contextmanager
def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock at BEGIN
    (IMMEDIATE): a deferred transaction that reads first and writes later fails
    at once with "database is locked" when another process wrote in between,
    where an immediate one simply waits its turn (busy_timeout). Nested, it is
    a savepoint; what :func:`after_commit` registered runs once the outermost
    one has committed, and is forgotten if it rolls back."""
    # Peewee's savepoints do not count in transaction_depth(): the nesting is counted here.
    level = getattr(_committed, "level", 0)
    atomic = database.atomic(lock_type="IMMEDIATE") if isinstance(database.obj, SqliteDatabase) \
        else database.atomic()
    _committed.level = level + 1
    try:
        with atomic:
            yield
    except BaseException:
        # This level rolled back (a savepoint, or the whole): what it registered goes with it.
        _committed.callbacks = [(d, c) for d, c in getattr(_committed, "callbacks", []) if d <= level]
        raise
    finally:
        _committed.level = level
    if database.transaction_depth() == 0:
        callbacks, _committed.callbacks = getattr(_committed, "callbacks", []), []
        for _, callback in callbacks:
            try:
                callback()
            except Exception:  # what it starts is re-driven from the database (it must be)
                logger.exception("An after-commit step failed; it is left to the reconciler.")


#: Per thread (peewee's connections are): the open transaction's callbacks,
#: each with the depth of the (save)point that registered it.
_committed = threading.local()


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current write_transaction commits — for what
    must not start before the rows it reads are visible (sending a message).
    Outside a transaction it runs now. It must be safe to lose (a crash right
    after the commit): whatever it starts is found again in the database."""
    if database.transaction_depth() == 0:
        callback()
        return
    if not hasattr(_committed, "callbacks"):
        _committed.callbacks = []
    _committed.callbacks.append((getattr(_committed, "level", 0), callback))


#: How long an outcome already obtained from a network is held while the database is away.
PERSIST_PATIENCE_S = 120


@contextmanager
def connection():
    """A connection for the block: taken from the pool if the thread has none
    open, and given back at the end (an open one is left as it is). A worker's
    thread holds one only while it uses the database, not while it waits on a
    network: threads × processes would otherwise need as many connections."""
    taken = database.is_closed()
    if taken:
        database.connect()
    try:
        yield
    finally:
        if taken and not database.is_closed():
            database.close()


def persist(write, *args, **kwargs):
    """Run a database write, waiting out a database restart: the outcome it
    records came from a network and cannot be asked for again for free.

    Dramatiq's time limit interrupts the thread once, wherever it is: if that
    lands in here, the write (rolled back, or committed just before) is made
    again — the outcome must survive it, and the writes are fenced, so a write
    that had committed is not applied twice (delivery._superseded)."""
    deadline = time.monotonic() + PERSIST_PATIENCE_S
    pause = 0.1
    while True:
        try:
            with connection():
                return write(*args, **kwargs)
        except TimeLimitExceeded:
            logger.warning("The time limit interrupted %s; writing it again.", write.__name__)
            _reset_connection()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() > deadline:
                raise
            logger.warning("Database unavailable (%s); trying again in %.1f s.", exc, pause)
            _reset_connection()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _reset_connection():
    try:
        database.close()
    except Exception:  # the connection is already broken; the pool discards it
        logger.debug("Closing a broken connection failed.", exc_info=True)
