"""Real `dramatiq` worker processes as the tests start them (WorkerCLI), the reconciler run
faster than the scheduler would (Reconciling), and waiting for what they do to show."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from socialpub import db
from socialpub.lifecycle import first_comments, reconciler
from socialpub.models import Publication, PublicationStatus
#: Short timings so that lost work is found in seconds, not minutes.
FAST = dict(heartbeat_timeout_ms=3000, processing_lease_s=5, time_limit_s=4, read_timeout=3,
            requeue_after_s=2, min_backoff_ms=100, max_backoff_ms=500, max_retries=5)
GRAPH_ITEM_PATHS = {"facebook": ("/feed", "/photos"), "instagram": ("/media_publish",),
                    "linkedin": ("/rest/posts",), "whatsapp": ("/messages",)}


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop_process(proc: subprocess.Popen, sig, timeout=30):
    """Send ``sig`` (None: send nothing, just wait) and wait; kill it if it lingers."""
    if sig is not None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class WorkerCLI:
    """`python -m dramatiq socialpub.worker.boot` as a child process."""

    def __init__(self, settings, log_path: Path):
        self.env = dict(
            os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
            SOCIALPUB_INSTANCE=settings.instance_dir, PUBLISH_QUEUE=settings.queue_name,
            DRAMATIQ_HEARTBEAT_TIMEOUT_MS=str(settings.heartbeat_timeout_ms),
            PUBLISH_PROCESSING_LEASE_S=str(settings.processing_lease_s),
            PUBLISH_TIME_LIMIT_S=str(settings.time_limit_s), HTTP_READ_TIMEOUT=str(settings.read_timeout),
            PUBLISH_MIN_BACKOFF_MS=str(settings.min_backoff_ms),
            PUBLISH_MAX_BACKOFF_MS=str(settings.max_backoff_ms),
            PUBLISH_MAX_RETRIES=str(settings.max_retries), dramatiq_worker_timeout="100",
            WHATSAPP_STATUS_WAIT_S=str(settings.whatsapp_status_wait_s),
            WHATSAPP_SEND_CONCURRENCY=str(settings.whatsapp_send_concurrency),
            SOCIALPUB_WHATSAPP_PAIR_PAUSE_S=str(settings.whatsapp_pair_pause_s),
            SOCIALPUB_CHANNEL_MIN_GAP_S=str(settings.channel_min_gap_s),
            SOCIALPUB_CHANNEL_MAX_PER_HOUR=str(settings.channel_max_per_hour),
            OUTBOUND_ALLOW_NETWORKS=",".join(settings.outbound_allow), PUBLIC_BASE_URL=settings.public_base_url,
            # The app's key, with which the served app checks the photo links the worker signs.
            SECRET_KEY=settings.secret_key)
        self.log = open(log_path, "a")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "socialpub.worker.boot", "--processes", "1", "--threads", "8"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def worker_pids(self):
        """The worker processes forked by the dramatiq main process."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def kill_worker_process(self):
        """kill -9 the process doing the work; the dramatiq CLI then stops (#376).
        If it lingers, it is killed too, as a crashed container would be."""
        for pid in self.worker_pids():
            os.kill(pid, signal.SIGKILL)
        stop_process(self.proc, None, timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop_process(self.proc, signal.SIGTERM)
        self.log.close()


class Reconciling:
    """Runs the reconciler (publications, first comments) every second, as the scheduler would (faster)."""

    def __init__(self, settings):
        self.settings, self.stop_event = settings, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_event.wait(1.0):
            try:
                from socialpub.worker.actors import publish

                with db.database.connection_context():
                    reconciler.reconcile(self.settings, publish)
                    first_comments.redrive(self.settings)
            except Exception:  # the database may be restarting: the next sweep tries again
                pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()


def all_final():
    with db.database.connection_context():
        return not Publication.select().where(Publication.status.not_in(PublicationStatus.FINAL)).exists()
