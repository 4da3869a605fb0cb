"""Serving the sandbox: in a background thread (tests, the CLI's demos) or in
the foreground (``socialpub sandbox`` / ``python -m socialpub.sandbox.server``).

The server is threaded, so requests to the four networks overlap as they would
against the real hosts.
"""
from __future__ import annotations

import argparse
import logging
import threading
from dataclasses import dataclass, field
from typing import Optional

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import SANDBOX_PORT
from .app import create_sandbox_app
from .settings import NETWORKS

logger = logging.getLogger(__name__)


@dataclass
class ServerHandle:
    """A sandbox serving in a daemon thread; ``stop()`` shuts it down."""

    server: BaseWSGIServer
    thread: threading.Thread
    host: str
    port: int
    url: str = field(init=False)

    def __post_init__(self):
        self.url = f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


class KeepingUnderscoredHeaders(WSGIRequestHandler):
    """Meta's upload host reads headers spelt with underscores (``file_size``,
    ``file_offset``); werkzeug drops such headers, since WSGI cannot tell
    ``file_size`` from ``file-size``. The sandbox keeps one when no dashed twin came."""

    def make_environ(self):
        environ = super().make_environ()
        for key, value in self.headers.items():
            if "_" in key:
                environ.setdefault("HTTP_" + key.upper().replace("-", "_"), value)
        return environ


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    """Serve ``app`` in a daemon thread; ``port=0`` picks a free port.

    Returns once the socket is listening, so the handle's ``url`` is usable at once.
    """
    server = make_server(host, port, app, threaded=True, request_handler=KeepingUnderscoredHeaders)
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{server.port}", daemon=True)
    thread.start()
    logger.info("Sandbox serving on http://%s:%d", host, server.port)
    return ServerHandle(server=server, thread=thread, host=host, port=server.port)


def parse_latencies(text: Optional[str]) -> dict:
    """Parse ``"facebook=3,instagram=5"`` into ``{"facebook": 3.0, "instagram": 5.0}``.

    Raises:
      ValueError: an unknown network, a missing ``=`` or a value that is not a number >= 0.
    """
    latencies = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        network, sep, value = part.partition("=")
        network = network.strip()
        if not sep or network not in NETWORKS:
            raise ValueError(f"expected network=seconds with a network among {', '.join(NETWORKS)}, "
                             f"got {part.strip()!r}")
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"{network}: {value.strip()!r} is not a number of seconds") from None
        if seconds < 0:
            raise ValueError(f"{network}: latency cannot be negative")
        latencies[network] = seconds
    return latencies


def run(host: str = "127.0.0.1", port: int = SANDBOX_PORT, latencies: Optional[dict] = None,
        whatsapp: Optional[dict] = None):
    """Serve the sandbox in the foreground until interrupted; ``whatsapp``: its
    first settings (where to POST the status webhooks, and their secret)."""
    app = create_sandbox_app(latencies)
    if whatsapp:
        app.extensions["sandbox"].configure({"whatsapp": whatsapp})
    server = make_server(host, port, app, threaded=True, request_handler=KeepingUnderscoredHeaders)
    logger.info("Sandbox serving on http://%s:%d (latencies %s)", host, server.port, latencies or {})
    print(f"socialpub sandbox on http://{host}:{server.port}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv=None):
    """``python -m socialpub.sandbox.server [--host H] [--port P] [--latency facebook=3,...]``."""
    parser = argparse.ArgumentParser(description="Fake Facebook/Instagram/LinkedIn/WhatsApp APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=SANDBOX_PORT)
    parser.add_argument("--latency", default="", help="per-network seconds, e.g. facebook=3,instagram=5")
    args = parser.parse_args(argv)
    try:
        latencies = parse_latencies(args.latency)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO)
    run(args.host, args.port, latencies)


if __name__ == "__main__":
    main()
