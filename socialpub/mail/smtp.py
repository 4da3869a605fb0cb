"""Sending one e-mail through the server SMTP_URL names, with the standard
library's smtplib.

- ``smtps://user:password@host:465`` — TLS from the first byte;
- ``smtp://user:password@host:587`` — STARTTLS, which must be offered unless
  the server is on loopback (a relay on this machine).

The certificate is checked against the system's trust store. Credentials go
to the server only after TLS is up, and are never logged: errors are
reported with the server's address and its answer alone.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from ipaddress import ip_address
from urllib.parse import unquote, urlsplit

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


def send(url: str, sender: str, to: str, subject: str, body: str) -> None:
    """Hand one plain-text e-mail to the server.

    Raises:
      NotSent: the server refused it, or could not be reached or secured.
    """
    target = server(url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="socialpub")
    message.set_content(body)
    context = ssl.create_default_context()
    try:
        if target.implicit_tls:
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_S)
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
