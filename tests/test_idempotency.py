"""Idempotency-Key on the API and the compose form's one-time key: the same
request twice — a double click, a client retrying after a lost answer — is
carried out once, and the second gets the first's answer."""
import threading

import pytest

from socialpub import db
from socialpub.intake import idempotency
from socialpub.models import IdempotencyKey, Post, Publication, utcnow

from .web_helpers import count_rows, input_value, page

IMAGE = "https://example.com/photo.jpg"


def test_the_same_create_twice_makes_one_post_and_answers_the_same(client, sandbox_channels):
    headers = {"Idempotency-Key": "create-1"}
    body = {"text": "Once", "image_url": IMAGE}
    first = client.post("/api/posts", json=body, headers=headers)
    again = client.post("/api/posts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows() == (1, 4)


def test_a_key_used_for_another_request_is_refused(client, sandbox_channels):
    headers = {"Idempotency-Key": "create-2"}
    assert client.post("/api/posts", json={"text": "One", "image_url": IMAGE}, headers=headers).status_code == 201
    response = client.post("/api/posts", json={"text": "Two", "image_url": IMAGE}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "Idempotency-Key"
    assert count_rows() == (1, 4)


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "naïve"])
def test_a_malformed_key_is_a_400_naming_the_header(client, sandbox_channels, key):
    response = client.post("/api/posts", json={"text": "x", "image_url": IMAGE},
                           headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "Idempotency-Key"
    assert count_rows() == (0, 0)


def test_a_refusal_is_answered_again_without_being_carried_out_again(client, sandbox_channels):
    headers = {"Idempotency-Key": "refused-1"}
    body = {"text": "no image for Instagram"}
    first = client.post("/api/posts", json=body, headers=headers)
    assert first.status_code == 422
    again = client.post("/api/posts", json=body, headers=headers)
    assert (again.status_code, again.get_json()) == (422, first.get_json())


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_twenty_simultaneous_creates_and_publishes_with_one_key_make_one_post_sent_once(
        app, sandbox_channels):
    body = {"text": "Double clicked", "image_url": IMAGE, "publish": True}
    barrier, answers = threading.Barrier(20), []

    def send():
        client = app.test_client()
        barrier.wait()
        answers.append(client.post("/api/posts", json=body, headers={"Idempotency-Key": "burst"}))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count_rows() == (1, 4)
    assert {a.status_code for a in answers} <= {201, 409}
    created = [a.get_json() for a in answers if a.status_code == 201]
    assert created and all(c["id"] == created[0]["id"] for c in created)
    with db.database.connection_context():
        assert {p.status for p in Publication.select()} == {"queued"}


def test_publish_and_retry_honour_the_key(client, sandbox_channels, broker, settings):
    post_id = client.post("/api/posts", json={"text": "x", "image_url": IMAGE}).get_json()["id"]
    headers = {"Idempotency-Key": "publish-1"}
    first = client.post(f"/api/posts/{post_id}/publish", headers=headers)
    again = client.post(f"/api/posts/{post_id}/publish", headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert broker.client.llen(f"dramatiq:{settings.queue_name}") == 4  # not eight
    # Without the key, a second publish is the plain 409 "nothing is pending".
    assert client.post(f"/api/posts/{post_id}/publish").status_code == 409


def test_keys_are_per_user_and_forgotten_after_a_day(app, client, sandbox_channels):
    client.post("/api/posts", json={"text": "x", "image_url": IMAGE}, headers={"Idempotency-Key": "k"})
    with db.database.connection_context():
        assert IdempotencyKey.select().count() == 1
        assert idempotency.forget_expired(utcnow() + idempotency.KEEP / 2) == 0
        assert idempotency.forget_expired(utcnow() + idempotency.KEEP * 2) == 1


def test_a_double_submitted_compose_form_makes_one_post(form_client, sandbox_channels):
    html = page(form_client.get("/compose"))
    key = input_value(html, "form_key")
    assert len(key) >= 32
    data = {"text": "Publish once", "image_url": IMAGE, "action": "draft", "form_key": key,
            "channels": [str(i) for i in sandbox_channels.values()]}
    first = form_client.post("/compose", data=data)
    again = form_client.post("/compose", data=data)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    with db.database.connection_context():
        assert Post.select().count() == 1


def test_the_form_key_changes_with_every_form(form_client, sandbox_channels):
    keys = {input_value(page(form_client.get("/compose")), "form_key") for _ in range(3)}
    assert len(keys) == 3


def test_a_form_sent_back_edited_with_the_same_key_is_a_new_post(form_client, sandbox_channels):
    key = input_value(page(form_client.get("/compose")), "form_key")
    data = {"text": "First words", "image_url": IMAGE, "action": "draft", "form_key": key,
            "channels": [str(i) for i in sandbox_channels.values()]}
    form_client.post("/compose", data=data)
    form_client.post("/compose", data=dict(data, text="Edited after going back"))
    with db.database.connection_context():
        assert sorted(p.text for p in Post.select()) == ["Edited after going back", "First words"]
