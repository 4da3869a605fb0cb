"""Publishing end to end: API → Dramatiq group on real Redis → workers → sandbox
→ statuses in SQLite and PostgreSQL."""
import hashlib

import pytest
import requests

from socialpub import db
from socialpub.models import Attempt, Post, Publication

both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def status_of(client, post_id):
    return client.get(f"/api/posts/{post_id}/status").get_json()


@both_databases
def test_a_four_network_post_is_published_everywhere(client, create, sandbox_channels, sandbox_client, drain):
    post_id = create()
    response = client.post(f"/api/posts/{post_id}/publish")
    assert response.status_code == 202
    results = response.get_json()["results"]
    assert sorted(r["network"] for r in results) == ["facebook", "instagram", "linkedin", "whatsapp"]
    assert all(r["status"] == "enqueued" and r["task_id"] for r in results)

    drain()
    status = status_of(client, post_id)
    assert status["status"] == "published"
    assert status["by_status"]["published"] == 4
    assert all(p["published_at"] and p["external_id"] for p in status["publications"])
    received = sandbox_client.received()
    assert sorted(r["network"] for r in received) == ["facebook", "instagram", "linkedin", "whatsapp"]
    external = {p["network"]: p["external_id"] for p in status["publications"]}
    for item in received:
        assert item["item_id"] in external[item["network"]], (item, external)
    by_network = {p["network"]: p for p in status["publications"]}
    assert by_network["linkedin"]["external_id"].startswith("urn:li:")
    assert by_network["whatsapp"]["external_id"].startswith("wamid.")


def test_the_publish_call_answers_before_any_network_is_called(client, create, sandbox_channels, sandbox_client):
    # No worker runs here: the request itself must not touch the networks.
    post_id = create()
    assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
    status = status_of(client, post_id)
    assert status["status"] == "publishing"
    assert status["by_status"]["queued"] == 4
    assert sandbox_client.received() == []


@both_databases
def test_networks_are_worked_on_in_parallel(client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(facebook={"latency": 0.6}, instagram={"latency": 0.6},
                             linkedin={"latency": 0.6}, whatsapp={"latency": 0.6})
    post_id = create()
    client.post(f"/api/posts/{post_id}/publish")
    drain()
    received = sandbox_client.received()
    assert len(received) == 4
    # Every pair of the four calls was in flight at the same moment.
    latest_start = max(r["started_at"] for r in received)
    earliest_end = min(r["finished_at"] for r in received)
    assert latest_start < earliest_end, received


@both_databases
def test_one_network_failing_for_good_leaves_the_others_published(
        client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(linkedin={"fail": {"error": "token", "times": 10}})
    post_id = create()
    client.post(f"/api/posts/{post_id}/publish")
    drain()
    status = status_of(client, post_id)
    assert status["status"] == "partially_published", status
    by_network = {p["network"]: p for p in status["publications"]}
    assert by_network["linkedin"]["status"] == "failed"
    assert "revoked" in by_network["linkedin"]["last_error"]
    assert {n for n, p in by_network.items() if p["status"] == "published"} == {
        "facebook", "instagram", "whatsapp"}
    # A permanent error is not retried: LinkedIn was asked once.
    linkedin_calls = [r for r in sandbox_client.requests() if r["network"] == "linkedin"
                      and r["path"].endswith("/rest/posts")]
    assert len(linkedin_calls) == 1


def test_a_transient_failure_is_retried_and_recorded(client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(facebook={"fail": {"error": "server_error", "times": 1}})
    post_id = create(networks=["facebook"])
    client.post(f"/api/posts/{post_id}/publish")
    drain()
    detail = client.get(f"/api/posts/{post_id}").get_json()
    publication = detail["publications"][0]
    assert detail["status"] == "published"
    assert publication["attempts"] == 2
    assert [a["outcome"] for a in publication["history"]] == ["retrying", "published"]
    assert publication["history"][0]["error"]
    assert len(sandbox_client.received("facebook")) == 1


def test_a_publication_fails_once_its_retries_are_spent(client, create, sandbox_channels, sandbox_client,
                                                         drain, settings):
    sandbox_client.configure(whatsapp={"fail": {"error": "server_error", "times": 100}})
    post_id = create(networks=["whatsapp"])
    client.post(f"/api/posts/{post_id}/publish")
    drain()
    detail = client.get(f"/api/posts/{post_id}").get_json()
    publication = detail["publications"][0]
    assert detail["status"] == "failed"
    assert publication["status"] == "failed"
    assert publication["attempts"] == settings.max_retries + 1
    assert publication["last_error"]
    assert sandbox_client.received() == []


@both_databases
def test_publishing_twice_enqueues_once_and_posts_once(client, create, sandbox_channels, sandbox_client, drain):
    post_id = create()
    first = client.post(f"/api/posts/{post_id}/publish")
    second = client.post(f"/api/posts/{post_id}/publish")
    assert first.status_code == 202
    assert second.status_code == 409
    assert "no publication is waiting" in second.get_json()["error"]["message"]
    drain()
    third = client.post(f"/api/posts/{post_id}/publish")
    assert third.status_code == 409
    received = sandbox_client.received()
    assert len(received) == 4
    assert len({r["network"] for r in received}) == 4


@both_databases
def test_a_redelivered_message_does_not_post_again(client, create, sandbox_channels, sandbox_client, drain,
                                                   publish_actor):
    post_id = create(networks=["facebook", "whatsapp"])
    client.post(f"/api/posts/{post_id}/publish")
    with db.database.connection_context():
        ids = [p.id for p in Publication.select().where(Publication.post == post_id)]
    # The same publications delivered again, as after a redelivery or a duplicate.
    for pub_id in ids * 3:
        publish_actor.send(pub_id)
    drain()
    assert sorted(r["network"] for r in sandbox_client.received()) == ["facebook", "whatsapp"]
    with db.database.connection_context():
        assert Attempt.select().count() == 2
        assert Post.get_by_id(post_id).status == "published"


def test_create_and_publish_in_one_request(client, create, sandbox_channels, sandbox_client, drain):
    response = client.post("/api/posts", json={"text": "now", "networks": ["facebook"], "publish": True})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "publishing"
    assert body["results"][0]["status"] == "enqueued"
    drain()
    assert status_of(client, body["id"])["status"] == "published"


def test_an_image_given_at_publish_time_is_used(client, create, sandbox, sandbox_channels, sandbox_client, drain):
    post_id = create(networks=["facebook"], image_url=None)
    late = requests.get(f"{sandbox.url}/_sandbox/image.jpg?width=321", timeout=5).content
    client.post(f"/api/posts/{post_id}/publish", json={"image_url": f"{sandbox.url}/_sandbox/image.jpg?width=321"})
    drain()
    assert sandbox_client.received("facebook")[0]["image_sha256"] == hashlib.sha256(late).hexdigest()


def test_retry_sends_only_failed_publications_again(client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = create()
    client.post(f"/api/posts/{post_id}/publish")
    drain()
    assert status_of(client, post_id)["status"] == "partially_published"

    response = client.post(f"/api/posts/{post_id}/retry")
    assert response.status_code == 202
    assert [r["network"] for r in response.get_json()["results"]] == ["linkedin"]
    drain()
    assert status_of(client, post_id)["status"] == "published"
    assert sorted(r["network"] for r in sandbox_client.received()) == [
        "facebook", "instagram", "linkedin", "whatsapp"]
    again = client.post(f"/api/posts/{post_id}/retry")
    assert again.status_code == 409
    assert "nothing to retry" in again.get_json()["error"]["message"]


def test_a_published_publication_cannot_be_retried(client, create, sandbox_channels, sandbox_client, drain):
    post_id = create(networks=["facebook"])
    client.post(f"/api/posts/{post_id}/publish")
    drain()
    publication_id = status_of(client, post_id)["publications"][0]["id"]
    response = client.post(f"/api/publications/{publication_id}/retry")
    assert response.status_code == 409
    assert client.post("/api/publications/99999/retry").status_code == 404
    assert len(sandbox_client.received()) == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_whatsapp_channel_with_many_recipients_keeps_every_message_id(client, sandbox, sandbox_client, drain):
    recipients = [f"+1650555{1000 + i}" for i in range(12)]
    channel = client.post("/api/channels", json={
        "network": "whatsapp", "account_id": "106540352242922", "token": "sandbox-wa-token",
        "base_url": f"{sandbox.url}/v24.0", "recipients": recipients}).get_json()
    created = client.post("/api/posts", json={"text": "To everyone", "channels": [channel["id"]],
                                              "publish": True})
    assert created.status_code == 201, created.get_json()
    drain()
    with db.database.connection_context():
        publication = Publication.get(Publication.post == created.get_json()["id"])
    assert publication.status == "published"
    assert len(publication.external_id.split(",")) == len(recipients)
    assert len(publication.external_id) > 200
