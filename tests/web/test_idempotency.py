"""Idempotency-Key on the API and the compose form's one-time key: the same
request twice — a double click, a client retrying after a lost answer — is
carried out once, and the second gets the first's answer."""
import datetime as dt
import json
import threading

import pytest

from socialpub import db
from socialpub.intake import idempotency
from socialpub.models import IdempotencyKey, Post, Publication, utcnow

from tests.support.web_helpers import count_rows, input_value, page

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
    body = {"text": "no image for Instagram", "publish": True}  # a draft may lack it; a post going out may not
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
    # Four publish messages, not eight (the queue also holds the image's fetch, sent when the post was made).
    messages = [json.loads(m) for m in broker.client.hvals(f"dramatiq:{settings.queue_name}.msgs")]
    assert [m["actor_name"] for m in messages].count("publish") == 4
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


class WorkerKilled(BaseException):
    """The web worker's process ending mid-request (gunicorn's timeout, the OOM killer): nothing after runs."""


def die(monkeypatch, module, name):
    """The next request dies when it reaches ``module.name``: it neither keeps its answer nor gives
    its key back, as a killed process would not."""
    def killed(*args, **kwargs):
        raise WorkerKilled()
    monkeypatch.setattr(module, name, killed)
    monkeypatch.setattr(idempotency, "finish", lambda *a, **k: None)
    monkeypatch.setattr(idempotency, "release", lambda *a, **k: None)


def after_the_lease(monkeypatch):
    """From now on the clock reads past the lease of a key taken before."""
    lease = getattr(idempotency, "LEASE", dt.timedelta(minutes=1))
    monkeypatch.setattr(idempotency, "utcnow", lambda: utcnow() + lease + dt.timedelta(seconds=1))


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_key_left_by_a_request_that_died_before_writing_is_carried_out_after_its_lease(
        client, sandbox_channels, monkeypatch):
    from socialpub.lifecycle import creating

    body, headers = {"text": "Died early", "image_url": IMAGE}, {"Idempotency-Key": "died-early"}
    with monkeypatch.context() as dying:
        die(dying, creating, "create_post")
        with pytest.raises(WorkerKilled):
            client.post("/api/posts", json=body, headers=headers)
    assert count_rows() == (0, 0)
    monkeypatch.setattr(idempotency, "WAIT_S", 0.1)
    early = client.post("/api/posts", json=body, headers=headers)  # within the lease: the first may still run
    assert early.status_code == 409 and int(early.headers["Retry-After"]) >= 1
    after_the_lease(monkeypatch)
    retried = client.post("/api/posts", json=body, headers=headers)
    assert retried.status_code == 201 and count_rows() == (1, 4)
    again = client.post("/api/posts", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json()["id"] == retried.get_json()["id"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_key_left_by_a_request_that_died_after_writing_is_answered_with_what_it_made(
        client, sandbox_channels, monkeypatch):
    from socialpub.web import serialize

    body, headers = {"text": "Died late", "image_url": IMAGE}, {"Idempotency-Key": "died-late"}
    with monkeypatch.context() as dying:
        die(dying, serialize, "post")  # after the post was stored, before the answer was kept
        with pytest.raises(WorkerKilled):
            client.post("/api/posts", json=body, headers=headers)
    assert count_rows() == (1, 4)
    after_the_lease(monkeypatch)
    retried = client.post("/api/posts", json=body, headers=headers)
    assert count_rows() == (1, 4)  # not made twice
    with db.database.connection_context():
        made = Post.get().id
    assert retried.status_code == 201 and retried.get_json()["id"] == made
    assert retried.headers["Location"].endswith(f"/api/posts/{made}")
    again = client.post("/api/posts", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json()["id"] == made


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_retries_past_the_lease_take_the_key_once(app, client, sandbox_channels, monkeypatch):
    from socialpub.lifecycle import creating

    body, headers = {"text": "Retried by many", "image_url": IMAGE}, {"Idempotency-Key": "many"}
    with monkeypatch.context() as dying:
        die(dying, creating, "create_post")
        with pytest.raises(WorkerKilled):
            client.post("/api/posts", json=body, headers=headers)
    after_the_lease(monkeypatch)
    barrier, answers = threading.Barrier(8), []

    def retry():
        barrier.wait()
        answers.append(app.test_client().post("/api/posts", json=body, headers=headers))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert count_rows() == (1, 4)
    assert {a.status_code for a in answers} <= {201, 409}
    assert len({a.get_json()["id"] for a in answers if a.status_code == 201}) == 1


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_request_that_outlived_its_lease_changes_nothing_once_a_retry_took_its_key(
        app, client, sandbox_channels, monkeypatch):
    from socialpub.lifecycle import creating

    body, headers = {"text": "Slow then overtaken", "image_url": IMAGE}, {"Idempotency-Key": "slow"}
    create, paused, resume, answers = creating.create_post, threading.Event(), threading.Event(), {}

    def slow_first(data):
        if not paused.is_set():
            paused.set()
            resume.wait(30)
        return create(data)

    monkeypatch.setattr(creating, "create_post", slow_first)
    slow = threading.Thread(target=lambda: answers.setdefault(
        "slow", app.test_client().post("/api/posts", json=body, headers=headers)))
    slow.start()
    assert paused.wait(30)
    after_the_lease(monkeypatch)
    retried = client.post("/api/posts", json=body, headers=headers)
    resume.set()
    slow.join(30)
    assert retried.status_code == 201
    assert answers["slow"].status_code == 409 and answers["slow"].get_json()["error"]["field"] == "Idempotency-Key"
    assert count_rows() == (1, 4)
    again = client.post("/api/posts", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json()["id"] == retried.get_json()["id"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_schema_step_gives_keys_a_lease_and_one_left_running_before_it_is_taken_over(
        client, sandbox_channels):
    from socialpub import schema
    from socialpub.models import SchemaVersion, User

    step = schema.STEPS.index(schema._idempotency_leases) + 1
    body = {"text": "Left running by the old version", "image_url": IMAGE}
    with db.database.connection_context():
        for column in ("owner", "lease_until", "changed_post"):
            db.database.execute_sql(f'ALTER TABLE "idempotencykey" DROP COLUMN "{column}"')
        # As the version before leases left a request that died: no answer, no owner, no lease.
        IdempotencyKey.insert(user=User.get().id, key="old", created_at=utcnow(), fingerprint=idempotency.fingerprint(
            "POST", "/api/posts", json.dumps(body).encode())).execute()
        SchemaVersion.delete().where(SchemaVersion.version >= step).execute()
        assert schema.upgrade() == (step - 1, len(schema.STEPS))
        assert schema.upgrade() == (len(schema.STEPS), len(schema.STEPS))  # once only
    retried = client.post("/api/posts", data=json.dumps(body), content_type="application/json",
                          headers={"Idempotency-Key": "old"})
    assert retried.status_code == 201 and count_rows() == (1, 4)
