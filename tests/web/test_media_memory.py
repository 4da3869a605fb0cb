"""What judging uploads costs the web process, measured on a real one
(gunicorn, as in production, one worker with four threads): decompression
bombs — a 2 KB single-colour WebP of 7745 × 7745, an RGBA PNG of the same size,
a 60-megapixel CMYK JPEG — sent four at a time, and images just within the
decoding budget four at a time, keep the process within its stated budget:
its resting size + MEDIA_DECODE_MEMORY + REQUESTS_ALLOWANCE."""
from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from PIL import Image

from socialpub.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MiB = 2**20
#: Beyond decoding: four requests' bodies, the bytes read from them and the answers.
REQUESTS_ALLOWANCE = 128 * MiB
#: The production default the budget is stated for.
DECODE_MEMORY = Settings().media_decode_memory


def webp_bomb(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (7745, 7745), (200, shade, 30)).save(out, "WEBP", lossless=True)
    return out.getvalue()


def rgba_png_bomb(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (7745, 7745), (200, shade, 30, 128)).save(out, "PNG")
    return out.getvalue()


def cmyk_jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("CMYK", (7745, 7745), (0, shade, 30, 0)).save(out, "JPEG", quality=50)
    return out.getvalue()


def webp_within_budget(shade: int) -> bytes:
    """As large as one decode may be (3200 × 3200 WebP: 254 of the 256 MiB counted)."""
    out = io.BytesIO()
    Image.new("RGB", (3200, 3200), (shade, 90, 30)).save(out, "WEBP", lossless=True)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class Gunicorn:
    """``gunicorn wsgi:app`` on a loopback port, settings from the environment."""

    def __init__(self, settings, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
                   SOCIALPUB_INSTANCE=settings.instance_dir, SECRET_KEY=settings.secret_key)
        self.log = open(log_path, "a")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--threads", "4", "--timeout", "120", "wsgi:app"], cwd=ROOT, env=env, stdout=self.log,
            stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "gunicorn stopped; see its log"
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                # The port is not open yet, or the worker is still loading the app behind it:
                # nothing to wait on but the next try.
                time.sleep(0.1)
        raise TimeoutError("gunicorn did not answer")

    def worker_pid(self) -> int:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    return int(stat.parent.name)
            except (OSError, IndexError):
                continue
        raise LookupError("no gunicorn worker")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def web(app, settings, tmp_path):
    server = Gunicorn(settings, tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        server.session = requests.Session()
        server.session.headers["Authorization"] = f"Bearer {app.config['TEST_API_TOKEN']}"
        yield server
    finally:
        server.stop()


def send_four(web, files) -> list:
    def send(data):
        return web.session.post(f"{web.url}/api/media", files={"file": ("photo", data)}, timeout=120)
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(send, files))


@pytest.mark.parametrize("shape", [webp_bomb, rgba_png_bomb, cmyk_jpeg, webp_within_budget])
def test_four_uploads_at_once_keep_the_web_process_within_its_memory_budget(web, shape):
    files = [shape(40 * i) for i in range(4)]  # four different files: none is found by its hash
    pid = web.worker_pid()
    warm = send_four(web, [webp_within_budget(250)])  # the app's code paths loaded once
    assert warm[0].status_code == 201, warm[0].text
    resting = status_kib(pid, "VmRSS") * 1024
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # its peak (VmHWM) from now on
    answers = send_four(web, files)
    peak = status_kib(pid, "VmHWM") * 1024
    assert {a.status_code for a in answers} <= {201, 422}, [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 422:
            assert answer.json()["error"]["field"] == "file"
            assert "MEDIA_DECODE_MAX_BYTES" in answer.json()["error"]["message"]
    print(f"{shape.__name__}: resting {resting / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB")
    assert peak - resting < DECODE_MEMORY + REQUESTS_ALLOWANCE, (
        f"{shape.__name__}: the web process grew by {(peak - resting) / MiB:.0f} MiB")


def test_the_same_bytes_sent_again_are_found_by_their_hash_without_decoding(client, monkeypatch):
    """Also a photo kept without its location: the bytes as sent are remembered."""
    from socialpub.media import images

    from tests.web.test_media import photo, upload

    files = [webp_within_budget(7), photo(gps=True)]
    first = [upload(client, data) for data in files]
    assert [f.status_code for f in first] == [201, 201]
    assert first[1].get_json()["sha256"] != hashlib.sha256(files[1]).hexdigest()  # its location was taken out

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(images, "inspect", no_decoding)
    again = [upload(client, data) for data in files]
    assert [a.status_code for a in again] == [200, 200]
    assert [a.get_json()["id"] for a in again] == [f.get_json()["id"] for f in first]
