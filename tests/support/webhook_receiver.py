"""A webhook receiver on loopback that checks every request's signature with
the ``standardwebhooks`` library, as a subscriber would."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class Receiver:
    """Answers each request with the next of ``answers`` (``(status, headers)``;
    the last one repeats), verifying it with ``secrets`` (any one may sign it)."""

    def __init__(self, secrets=(), answers=((200, {}),)):
        self.secrets, self.answers = list(secrets), list(answers)
        self.received: list = []  # {"id", "headers", "body", "verified_with": [secret indexes]}
        self.arrived = threading.Condition()
        self.hold = threading.Event()
        self.hold.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for i, secret in enumerate(receiver.secrets):
                    try:
                        Webhook(secret).verify(raw, headers)
                        verified.append(i)
                    except WebhookVerificationError:
                        pass
                with receiver.arrived:
                    receiver.received.append({"id": headers.get("webhook-id"), "headers": headers,
                                              "body": json.loads(raw), "verified_with": verified})
                    index = len(receiver.received) - 1
                    receiver.arrived.notify_all()
                receiver.hold.wait(30)
                status, extra = receiver.answers[min(index, len(receiver.answers) - 1)]
                try:
                    self.send_response(status)
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):  # the sender died while it was held
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 30) -> list:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} webhook requests arrived, not {count}: "
                                     f"{[r['body']['type'] for r in self.received]}")
            return list(self.received)

    def types(self) -> list:
        return [r["body"]["type"] for r in self.received]

    def close(self):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
