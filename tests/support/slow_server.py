"""An HTTP server on loopback that answers one byte at a time: each read on
the client's side is quick, so per-socket timeouts never fire, while the whole
answer takes as long as the test wants."""
from __future__ import annotations

import datetime as dt
import ipaddress
import socketserver
import ssl
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class Trickler:
    """Answers every request with ``answer`` (the whole HTTP response, bytes),
    a byte every ``pause`` seconds; counts the requests it received. With
    ``tls`` (a server context, :func:`self_signed`), over HTTPS."""

    def __init__(self, answer: bytes, pause: float = 0.05, tls: ssl.SSLContext | None = None):
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

            def get_request(self):
                sock, address = super().get_request()
                return (tls.wrap_socket(sock, server_side=True) if tls else sock), address

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def response(status: str = "200 OK", body: bytes = b"ok", content_type: str = "text/plain") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


def self_signed(folder) -> tuple:
    """A server TLS context for 127.0.0.1, and the path of its certificate (for the client to trust)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(hours=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, str(cert_path)
