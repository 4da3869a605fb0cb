"""A WhatsApp send whose worker is killed (kill -9) between the send and
Meta's status webhook: a real `dramatiq` worker process, the sandbox holding
the send, the app served over HTTP for the webhook."""
from __future__ import annotations

import pytest
import requests

from socialpub import db
from socialpub.models import Publication
from tests.support.processes import FAST, Reconciling, WorkerCLI, wait_for
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses


def held_count(sandbox) -> int:
    return requests.get(f"{sandbox.url}/_sandbox/held", timeout=5).json().get("whatsapp", 0)


def publication_status(publication_id):
    with db.database.connection_context():
        return Publication.get_by_id(publication_id).status


@pytest.mark.settings(**FAST, **{**WHATSAPP_SETTINGS, "whatsapp_status_wait_s": 120})
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("concurrency, in_doubt", [(1, 1), (8, 2)], ids=["one-at-a-time", "several-at-once"])
def test_a_kill_between_the_send_and_the_status_webhook_leaves_nothing_unconfirmed_once_it_comes(
        client, app, whatsapp, sandbox, sandbox_client, settings, tmp_path, concurrency, in_doubt):
    # One at a time, the third waits for the second; several at once, both are held when the worker dies.
    phones = numbers(3)
    add_contacts(client, whatsapp, phones)
    response = client.post("/api/posts", json={
        "text": "Held mid-broadcast", "channels": [whatsapp],
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}})
    post_id = response.get_json()["id"]
    publication_id = response.get_json()["publications"][0]["id"]
    cli = WorkerCLI(settings.with_(whatsapp_send_concurrency=concurrency), tmp_path / "worker.log")
    try:
        with Reconciling(settings):
            cli.start()
            # The second recipient's send is held: Meta gets it, its answer never reaches the worker.
            sandbox_client.configure(whatsapp={"hold": {"path": "/messages", "after": 1}})
            assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
            wait_for(lambda: held_count(sandbox) == in_doubt, 30, "the sends after the first held")
            cli.kill_worker_process()
            sandbox_client.configure(whatsapp={"hold": False})
            cli.start()
            # Re-claimed after the lease: what was not sent is, what Meta got without answering waits for its word.
            expected = ["sending"] * in_doubt + ["sent"] * (3 - in_doubt)
            wait_for(lambda: sorted(recipient_statuses(publication_id).values()) == expected,
                     60, "the others sent and the lost ones in doubt", interval=0.2)
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
    # Every status Meta sent is applied, in whatever order it came (the last ones may follow the publication's end).
    wait_for(lambda: set(recipient_statuses(publication_id).values()) == {"read"}, 30, "every recipient read")
