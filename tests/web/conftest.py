"""Fixtures of the web process's tests: an S3-speaking server on loopback for the media store."""
from __future__ import annotations

import socket

import pytest
import requests

from socialpub.media import storage


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3-speaking HTTP server on loopback (a real server, in a thread)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    yield f"http://127.0.0.1:{server._port}"
    server.stop()


@pytest.fixture
def s3_settings(app, s3_server, monkeypatch):
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "socialpub-test"), ("AWS_SECRET_ACCESS_KEY", "socialpub-test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    # moto keeps its buckets in the test process, whatever server shows them: each test starts empty.
    requests.post(f"{s3_server}/moto-api/reset", timeout=5).raise_for_status()
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket="socialpub-media")
    settings = app.extensions["socialpub"].with_(media_storage="s3://socialpub-media/team-a",
                                                 media_s3_endpoint_url=s3_server)
    app.extensions["socialpub"] = settings
    storage._store.cache_clear()
    yield settings
    storage._store.cache_clear()
