"""The servers tests/support/services.py hands out really answer, on every path it can take."""
from __future__ import annotations

import threading

import psycopg2
import pytest
import redis

try:  # works whether or not tests/ is a package (pytest puts one of the two on sys.path)
    from tests.support import services
except ImportError:
    from support import services


def test_redis_url_answers_ping():
    url = services.redis_url()
    assert services.redis_answers(url), url
    assert services.redis_url() == url  # cached: one server per process


def test_embedded_redis_serves_redis_py_and_dramatiq():
    """The fresh-machine path, exercised even where 6379 is up: called directly."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.worker import Worker

    url = services.start_embedded_redis()
    assert url.startswith("unix://")

    client = redis.Redis.from_url(url)
    client.set("socialpub:selftest", "ok")
    assert client.get("socialpub:selftest") == b"ok"
    client.close()

    # A message goes through dramatiq's Redis broker (Lua scripts and all) to a worker.
    broker = RedisBroker(url=url)
    done = threading.Event()
    seen = []

    @dramatiq.actor(broker=broker, queue_name="selftest", max_retries=0)
    def record(value):
        seen.append(value)
        done.set()

    worker = Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        record.send(42)
        assert done.wait(10), "the worker never ran the message"
        assert seen == [42]
    finally:
        worker.stop()
        broker.close()


def _select_one(url):
    conn = psycopg2.connect(url, connect_timeout=2)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1, current_database()")
            return cur.fetchone()
    finally:
        conn.close()


def test_postgres_url_answers_select_1():
    url = services.postgres_url()
    if url is None:
        pytest.skip(services.postgres_unavailable_reason())
    assert _select_one(url)[0] == 1


def test_embedded_postgres_starts_and_isolates_databases():
    """The fresh-machine path (pgserver), exercised even where 5432 is up."""
    pytest.importorskip("pgserver", reason="pgserver is not installed (it belongs in the [test] extra)")
    url = services.start_embedded_postgres()
    assert _select_one(url)[0] == 1

    fresh = services.fresh_postgres_database(url, "socialpub_selftest")
    assert "host=" in fresh  # the socket directory survives the database swap
    assert _select_one(fresh) == (1, "socialpub_selftest")
    # Running it again drops and recreates, even with a session still open on it.
    leftover = psycopg2.connect(fresh, connect_timeout=2)
    try:
        again = services.fresh_postgres_database(url, "socialpub_selftest")
        assert _select_one(again) == (1, "socialpub_selftest")
    finally:
        leftover.close()


def test_with_database_keeps_host_and_query():
    assert services.with_database("postgresql://u:p@h:5432/a?sslmode=disable", "b") == \
        "postgresql://u:p@h:5432/b?sslmode=disable"
    assert services.with_database("postgresql://postgres:@/postgres?host=/tmp/x", "t") == \
        "postgresql://postgres:@/t?host=/tmp/x"
