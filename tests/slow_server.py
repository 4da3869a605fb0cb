"""An HTTP server on loopback that answers one byte at a time: each read on
the client's side is quick, so per-socket timeouts never fire, while the whole
answer takes as long as the test wants."""
from __future__ import annotations

import socketserver
import threading
import time


class Trickler:
    """Answers every request with ``answer`` (the whole HTTP response, bytes),
    a byte every ``pause`` seconds; counts the requests it received."""

    def __init__(self, answer: bytes, pause: float = 0.05):
        self.requests: list = []  # each request's head and body, as received
        self.answered = threading.Semaphore(0)  # released when an answer was sent (or cut off)
        self.closing = threading.Event()
        trickler = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = self.rfile.readline()
                    if not line:
                        return
                    head += line
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                trickler.requests.append(head + self.rfile.read(length))
                try:
                    for at in range(len(answer)):
                        if trickler.closing.is_set():
                            break
                        self.wfile.write(answer[at:at + 1])
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:  # the client gave up and closed its end
                    pass
                finally:
                    trickler.answered.release()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def response(status: str = "200 OK", body: bytes = b"ok", content_type: str = "text/plain") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body
