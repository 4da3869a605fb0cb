"""A local stand-in for the four networks' APIs, answering on loopback with the
same paths, bodies, headers and error envelopes, plus ``/_sandbox`` controls
for latency, injected failures and what was received (see app.py).

Serving it is server.py's job: ``serve_in_thread(app)``, ``run(host, port, latencies)``.
"""
#: Port ``socialpub sandbox`` listens on by default.
SANDBOX_PORT = 5055

from .app import create_sandbox_app  # noqa: E402

__all__ = ["SANDBOX_PORT", "create_sandbox_app"]
