"""A large video sent in parts (the tus endpoint, /api/uploads) to a web process of its own, the
connection cut at 40 %, then resumed by a tus client from the server's offset:
`python -m benchmarks.video_upload [MiB]` (default 300). Prints the time, the bytes sent and the web
process's memory (RSS) before, at its highest while the file arrives, and after."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import av
import psutil
from PIL import Image

SERVER = """
import sys
from werkzeug.serving import make_server
from socialpub.config import Settings
from socialpub.web.app import create_app
settings = Settings.from_env({"SOCIALPUB_INSTANCE": sys.argv[1], "REDIS_URL": "redis://127.0.0.1:6379/13"})
server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
print(server.port, flush=True)
server.serve_forever()
"""
PART = 8 * 2**20


def video(path: Path, size: int) -> Path:
    """Two seconds of 9:16 H.264, made ``size`` bytes long by a trailing ``free`` box."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("h264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 540, 960, "yuv420p"
        for number in range(60):
            frame = av.VideoFrame.from_image(Image.new("RGB", (540, 960), (number * 4, 80, 160)))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    extra = size - path.stat().st_size
    with path.open("ab") as out:
        out.write(extra.to_bytes(4, "big") + b"free")
        block = b"\0" * 2**20
        left = extra - 8
        while left:
            out.write(block[:min(left, len(block))])
            left -= min(left, len(block))
    return path


def cut_part(url: str, token: str, location: str, data_path: Path, until: int) -> None:
    """One PATCH from 0 that declares the whole file but sends ``until`` bytes, then closes."""
    parts = urlsplit(url)
    size = data_path.stat().st_size
    with socket.create_connection((parts.hostname, parts.port)) as raw, data_path.open("rb") as source:
        raw.sendall((f"PATCH {location} HTTP/1.1\r\nHost: {parts.hostname}\r\nAuthorization: Bearer {token}\r\n"
                     f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                     f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode())
        sent = 0
        while sent < until:
            block = source.read(min(2**20, until - sent))
            raw.sendall(block)
            sent += len(block)
        raw.shutdown(socket.SHUT_WR)
        raw.recv(4096)


def main(mib: int = 300):
    import requests
    from tusclient import client as tus

    from socialpub import schema
    from socialpub.config import Settings
    from socialpub.people.accounts import create_user, issue_token
    from socialpub.web.app import create_app

    folder = tempfile.mkdtemp(prefix="socialpub-bench-video-")
    settings = Settings.from_env({"SOCIALPUB_INSTANCE": folder, "REDIS_URL": "redis://127.0.0.1:6379/13",
                                  "SOCIALPUB_MEDIA_VIDEO_MAX_BYTES": str((mib + 1) * 2**20)})
    with create_app(settings).app_context():
        schema.upgrade()
        token = issue_token(create_user("bench@example.com")[0], "bench")[1]
    path = video(Path(folder) / "big.mp4", mib * 2**20)
    env = {**os.environ, "SOCIALPUB_MEDIA_VIDEO_MAX_BYTES": str((mib + 1) * 2**20)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, folder], stdout=subprocess.PIPE, env=env, text=True)
    try:
        port = int(server.stdout.readline())
        url, process = f"http://127.0.0.1:{port}", psutil.Process(server.pid)
        headers = {"Authorization": f"Bearer {token}"}
        rss = {"before": process.memory_info().rss}
        peak, watching = [rss["before"]], threading.Event()

        def watch():
            while not watching.wait(0.05):
                peak.append(process.memory_info().rss)
        threading.Thread(target=watch, daemon=True).start()
        started = time.perf_counter()
        begun = requests.post(f"{url}/api/uploads", headers={**headers, "Tus-Resumable": "1.0.0",
                                                              "Upload-Length": str(path.stat().st_size)}, timeout=30)
        location = begun.headers["Location"]
        cut_part(url, token, location, path, int(path.stat().st_size * 0.4))
        held = int(requests.head(f"{url}{location}", headers={**headers, "Tus-Resumable": "1.0.0"},
                                 timeout=30).headers["Upload-Offset"])
        uploader = tus.TusClient(f"{url}/api/uploads", headers=headers).uploader(
            str(path), url=f"{url}{location}", chunk_size=PART)
        uploader.upload()
        took = time.perf_counter() - started
        watching.set()
        rss["peak"], rss["after"] = max(peak), process.memory_info().rss
        mib_of = {k: round(v / 2**20, 1) for k, v in rss.items()}
        print(json.dumps({"file_mib": mib, "cut_at_pct": 40, "held_after_cut_mib": round(held / 2**20, 1),
                          "seconds": round(took, 1), "rss_mib": mib_of,
                          "rss_growth_mib": round((rss["peak"] - rss["before"]) / 2**20, 1)}))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
