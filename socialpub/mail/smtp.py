"""Sending one e-mail through the server SMTP_URL names, with the standard
library's smtplib.

- ``smtps://user:password@host:465`` — TLS from the first byte;
- ``smtp://user:password@host:587`` — STARTTLS, which must be offered unless
  the server is on loopback (a relay on this machine).

The certificate is checked against the system's trust store. Credentials go
to the server only after TLS is up, and are never logged: errors are
reported with the server's address and its answer alone.

The whole conversation has a time limit (the caller's, shorter than the
e-mail's lease), enforced on the socket itself: smtplib's timeout restarts
with every byte, so a relay answering a byte at a time would otherwise keep
the send alive past the lease, and another worker would send the e-mail
again. When the limit passes the socket is shut down (outbound.Deadline),
which wakes whatever read or write is blocked on it, TLS handshakes included.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from ipaddress import ip_address
from urllib.parse import unquote, urlsplit

from ..networks.outbound import Deadline

#: Each connect, read or write (the whole conversation has the caller's time limit).
TIMEOUT_S = 15


class NotSent(Exception):
    """The server did not take the e-mail; the message says why (no credentials in it)."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    implicit_tls: bool
    user: str
    password: str

    @property
    def shown(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def on_loopback(self) -> bool:
        try:
            return ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"


def server(url: str) -> Server:
    parts = urlsplit(url)
    implicit = parts.scheme == "smtps"
    return Server(host=parts.hostname or "localhost", port=parts.port or (465 if implicit else 587),
                  implicit_tls=implicit, user=unquote(parts.username or ""), password=unquote(parts.password or ""))


class _WatchedContext(ssl.SSLContext):
    """A client TLS context whose sockets the deadline watches from before
    their handshake: smtplib wraps the socket itself (SMTPS and STARTTLS), and
    wrapping detaches the plain socket the deadline was watching."""

    deadline: Deadline

    def wrap_socket(self, sock, *args, do_handshake_on_connect=True, **kwargs):
        wrapped = super().wrap_socket(sock, *args, do_handshake_on_connect=False, **kwargs)
        self.deadline.watch(wrapped)
        if do_handshake_on_connect:
            wrapped.do_handshake()
        return wrapped


def _context(deadline: Deadline) -> ssl.SSLContext:
    # What ssl.create_default_context() makes for a client (certificate and host name checked).
    context = _WatchedContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_default_certs()
    context.deadline = deadline
    return context


class _Watched:
    """smtplib's client with its connection watched by the deadline, and no
    connect timeout longer than the time left."""

    def __init__(self, *args, deadline: Deadline, **kwargs):
        self.deadline = deadline  # before smtplib's constructor connects
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, min(timeout, self.deadline.left()))
        self.deadline.watch(sock)
        return sock


class _SMTP(_Watched, smtplib.SMTP):
    pass


class _SMTP_SSL(_Watched, smtplib.SMTP_SSL):
    pass


def send(url: str, sender: str, to: str, subject: str, body: str, *, time_limit: float) -> None:
    """Hand one plain-text e-mail to the server, within ``time_limit`` seconds in all.

    Raises:
      NotSent: the server refused it, could not be reached or secured, or
        did not finish answering in time.
    """
    target = server(url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="socialpub")
    message.set_content(body)
    with Deadline(time_limit) as deadline:
        try:
            _converse(target, message, to, _context(deadline), deadline)
        except NotSent:
            if deadline.expired:  # the shut-down socket is what ended the conversation
                raise NotSent(f"{target.shown}: not answered within the {time_limit:g} s allowed") from None
            raise


def _converse(target: Server, message: EmailMessage, to: str, context: ssl.SSLContext, deadline: Deadline):
    try:
        if target.implicit_tls:
            client = _SMTP_SSL(target.host, target.port, timeout=TIMEOUT_S, context=context, deadline=deadline)
        else:
            client = _SMTP(target.host, target.port, timeout=TIMEOUT_S, deadline=deadline)
        with client:
            if not target.implicit_tls:
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                elif not target.on_loopback:
                    raise NotSent(f"{target.shown} offers no STARTTLS: e-mail is only sent encrypted "
                                  f"(use smtps:// for a server that speaks TLS from the start)")
            if target.user:
                client.login(target.user, target.password)
            client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise NotSent(f"{target.shown} answered {exc.smtp_code}: {_text(exc.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused:
        raise NotSent(f"{target.shown} refused the recipient {to}") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise NotSent(f"{target.shown}: {type(exc).__name__}: {_text(str(exc))}") from None


def _text(value) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text[:300]
