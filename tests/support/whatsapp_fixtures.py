"""What the WhatsApp tests share: the app served over HTTP (the sandbox
POSTs Meta's signed webhooks to it), a WhatsApp channel with its templates
synced, contacts made in bulk."""
from __future__ import annotations

import pytest

from socialpub import db
from socialpub.models import Recipient
from socialpub.sandbox.server import serve_in_thread

APP_SECRET = "sandbox-meta-app-secret"
VERIFY_TOKEN = "sandbox-verify-token"
WHATSAPP_SETTINGS = {"whatsapp_app_secret": APP_SECRET, "whatsapp_verify_token": VERIFY_TOKEN,
                     "whatsapp_status_wait_s": 30}


@pytest.fixture
def served_app(app):
    """The app on a loopback port, for the sandbox's webhooks."""
    handle = serve_in_thread(app)
    yield handle
    handle.stop()


@pytest.fixture
def whatsapp(client, sandbox_channels, sandbox_client, served_app):
    """The sandbox WhatsApp channel, its webhooks pointed at this app, its templates synced; returns its id."""
    channel_id = sandbox_channels["whatsapp"]
    sandbox_client.configure(whatsapp={"webhook_url": f"{served_app.url}/webhooks/meta", "app_secret": APP_SECRET,
                                       "windows": "inbound", "statuses": "manual"})
    response = client.post(f"/api/channels/{channel_id}/templates/sync")
    assert response.status_code == 200, response.get_json()
    return channel_id


def numbers(count: int, start: int = 0) -> list:
    """``count`` valid French mobile numbers (none of them a US one)."""
    return [f"+3361234{i:04d}" for i in range(start, start + count)]


def add_contacts(client, channel_id, phones, audience="Everyone", opted_in=True):
    items = [{"phone": p, "opted_in": opted_in, "opt_in_method": "signed up on the website" if opted_in else None,
              "audiences": [audience]} for p in phones]
    response = client.post(f"/api/channels/{channel_id}/contacts", json={"contacts": items})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["items"]


def recipient_statuses(publication_id) -> dict:
    with db.database.connection_context():
        return {r.phone: r.status for r in Recipient.select().where(Recipient.publication == publication_id)}
