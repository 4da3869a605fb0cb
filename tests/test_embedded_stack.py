"""`socialpub up` — what `make run` starts — brings up the whole product on a
fresh instance folder: SQLite, its own Redis, workers, the sandbox, the web app;
the seed's demo works against it, and Ctrl-C stops everything."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until true; the bound is loose on purpose."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_socialpub_up_runs_the_seed_demo_and_stops_cleanly(tmp_path):
    web, sandbox = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["SOCIALPUB_INSTANCE"] = str(tmp_path / "instance")
    log = open(tmp_path / "up.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "socialpub.cli", "up", "--port", str(web), "--sandbox-port", str(sandbox),
         "--latency", "facebook=0.3,instagram=0.5,linkedin=0.4,whatsapp=0.2", "--worker-threads", "4"],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{web}"
    try:
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=1).ok, 60, "the web app")
        channels = requests.get(f"{base}/api/channels", timeout=5).json()["items"]
        assert sorted(c["network"] for c in channels) == ["facebook", "instagram", "linkedin", "whatsapp"]

        post = requests.post(f"{base}/api/posts", json={"text": "Hello from make run"}, timeout=5)
        # Instagram needs an image: the demo gives it at publish time, as the seed does.
        assert post.status_code == 422
        post = requests.post(f"{base}/api/posts", json={
            "text": "Hello from make run", "image_url": f"http://127.0.0.1:{sandbox}/_sandbox/image.jpg"},
            timeout=5)
        assert post.status_code == 201
        post_id = post.json()["id"]
        published = requests.post(f"{base}/api/posts/{post_id}/publish", timeout=5)
        assert published.status_code == 202
        assert len(published.json()["results"]) == 4

        def all_published():
            return requests.get(f"{base}/api/posts/{post_id}/status", timeout=5).json()["by_status"][
                "published"] == 4
        wait_for(all_published, 30, "all four networks to publish")
        received = requests.get(f"http://127.0.0.1:{sandbox}/_sandbox/received", timeout=5).json()
        assert len(received) == 4
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.seek(0)
        output = log.read()
    assert proc.returncode == 0, output
    assert "socialpub stopped." in output
    assert not (tmp_path / "instance" / "redis.sock").exists(), "the embedded Redis is still running"
    assert Path(tmp_path / "instance" / "socialpub.db").exists()
