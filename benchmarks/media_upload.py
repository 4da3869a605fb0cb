"""Upload time of an ~8 MiB photo through POST /api/media (the local store),
median of N runs: `python -m benchmarks.media_upload [N]`. Each run uploads
different bytes (a new file each time, judged, stored and recorded)."""
from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time

from PIL import Image


def photo(seed: int) -> bytes:
    side = 3000  # random pixels compress poorly: ~7.7 MiB at quality 90
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def main(runs: int = 5):
    from socialpub import schema
    from socialpub.config import Settings
    from socialpub.people.accounts import create_user, issue_token
    from socialpub.web.app import create_app

    folder = tempfile.mkdtemp(prefix="socialpub-bench-media-")
    settings = Settings.from_env({"SOCIALPUB_INSTANCE": folder, "REDIS_URL": "redis://127.0.0.1:6379/13"})
    app = create_app(settings)
    with app.app_context():
        schema.upgrade()
        token = issue_token(create_user("bench@example.com")[0], "bench")[1]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    files = [photo(i) for i in range(runs)]
    times = []
    for data in files:
        started = time.perf_counter()
        response = client.post("/api/media", data={"file": (io.BytesIO(data), "photo.jpg")},
                               content_type="multipart/form-data", headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 201, response.get_json()
    print(f"{len(files[0]) / 2**20:.1f} MiB photo, {runs} uploads: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
