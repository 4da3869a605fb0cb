"""A WhatsApp send whose worker is killed (kill -9) between the send and
Meta's status webhook: a real `dramatiq` worker process, the sandbox holding
the send, the app served over HTTP for the webhook."""
from __future__ import annotations

import pytest
import requests

from socialpub import db
from socialpub.models import Publication

from .support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses
from .test_faults import FAST, Reconciling, WorkerCLI, held, wait_for


def publication_status(publication_id):
    with db.database.connection_context():
        return Publication.get_by_id(publication_id).status


@pytest.mark.settings(**FAST, **{**WHATSAPP_SETTINGS, "whatsapp_status_wait_s": 120})
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_kill_between_the_send_and_the_status_webhook_leaves_nothing_unconfirmed_once_it_comes(
        client, app, whatsapp, sandbox, sandbox_client, settings, tmp_path):
    phones = numbers(3)
    add_contacts(client, whatsapp, phones)
    response = client.post("/api/posts", json={
        "text": "Held mid-broadcast", "channels": [whatsapp],
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}})
    post_id = response.get_json()["id"]
    publication_id = response.get_json()["publications"][0]["id"]
    cli = WorkerCLI(settings, tmp_path / "worker.log")
    try:
        with Reconciling(settings):
            cli.start()
            # The second recipient's send is held: Meta gets it, its answer never reaches the worker.
            sandbox_client.configure(whatsapp={"hold": {"path": "/messages", "after": 1}})
            assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
            wait_for(lambda: held(sandbox, "whatsapp"), 30, "the second send held")
            cli.kill_worker_process()
            sandbox_client.configure(whatsapp={"hold": False})
            cli.start()
            # Re-claimed after the lease: the third is sent, the second waits for Meta's word.
            wait_for(lambda: sorted(recipient_statuses(publication_id).values()) == ["sending", "sent", "sent"],
                     60, "the others sent and the lost one in doubt", interval=0.2)
            # The attempt records its outcome (waiting for Meta's word) just after the last send.
            wait_for(lambda: publication_status(publication_id) == "retrying", 30,
                     "the publication to wait for Meta's status", interval=0.2)
            flushed = requests.post(f"{sandbox.url}/_sandbox/whatsapp/flush", json={"shuffle": True},
                                    timeout=30).json()
            assert flushed["answers"] == ["200"] and flushed["sent"] == 9
            wait_for(lambda: publication_status(publication_id) == "published", 60,
                     "the status webhook to settle the publication", interval=0.2)
    finally:
        cli.stop()
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == phones  # each once
    assert set(recipient_statuses(publication_id).values()) == {"read"}
