"""Photos deleted while they are being used or uploaded again: a post created
with a photo deleted at that moment is refused naming ``media_ids`` (or made,
with the photo kept), and a re-upload answers a file that exists with its bytes
— never a 500, on SQLite and PostgreSQL. Each interleaving is forced by holding
one side at the racy point while the other runs."""
from __future__ import annotations

import threading

import pytest

from socialpub import db
from socialpub.lifecycle import creating
from socialpub.media import library
from socialpub.models import Media, PostMedia

from tests.web.test_media import photo, upload

BOTH = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
ROUNDS = 5


def in_thread(target) -> tuple:
    """Run ``target`` in a thread; ``(thread, result)`` where ``result[0]`` is its answer."""
    result = []
    thread = threading.Thread(target=lambda: result.append(target()), daemon=True)
    thread.start()
    return thread, result


@BOTH
def test_a_photo_deleted_while_a_post_is_created_with_it_is_refused_naming_media_ids(
        app, client, sandbox_channels, monkeypatch):
    checked = creating.check_new_post
    deleter = app.test_client()
    deleted = []

    def check_then_delete(data, **how):
        new = checked(data, **how)  # the photo was there when the request was checked…
        deleted.append(deleter.delete(f"/api/media/{data['media_ids'][0]}").status_code)  # …and is gone now
        return new

    monkeypatch.setattr(creating, "check_new_post", check_then_delete)
    for round_ in range(ROUNDS):
        media_id = upload(client, photo(color=(40 * round_, 1, 2))).get_json()["id"]
        response = client.post("/api/posts", json={"text": f"With a photo {round_}", "networks": ["facebook"],
                                                   "media_ids": [media_id]})
        assert deleted[-1] == 204
        assert response.status_code == 422, response.get_json()
        error = response.get_json()["error"]
        assert error["field"] == "media_ids" and str(media_id) in error["message"]
    with db.database.connection_context():
        assert PostMedia.select().count() == 0


@BOTH
def test_a_photo_deleted_while_a_post_takes_it_is_kept_for_the_post(app, client, sandbox_channels, monkeypatch):
    """The delete comes while the post's transaction holds the photo: it waits and is refused."""
    from socialpub import audit

    recorded = audit.record
    deleter = app.test_client()
    deletes = []

    def delete_meanwhile(kind, subject, action, **details):
        recorded(kind, subject, action, **details)
        if action == "created":  # inside create_post's transaction, the photo taken
            thread, answer = in_thread(lambda: deleter.delete(f"/api/media/{media_id}").status_code)
            thread.join(timeout=1.0)  # it waits for this transaction (or has already answered)
            deletes.append((thread, answer))

    monkeypatch.setattr(audit, "record", delete_meanwhile)
    for round_ in range(ROUNDS):
        media_id = upload(client, photo(color=(40 * round_, 3, 4))).get_json()["id"]
        response = client.post("/api/posts", json={"text": f"Keeps its photo {round_}", "networks": ["facebook"],
                                                   "media_ids": [media_id]})
        thread, answer = deletes[-1]
        thread.join(timeout=30)
        assert response.status_code == 201, response.get_json()
        assert answer == [409]
        assert client.get(f"/api/media/{media_id}/file").status_code == 200


@BOTH
def test_a_re_upload_racing_a_delete_answers_a_file_that_exists_with_its_bytes(app, client, settings, monkeypatch):
    store = library.store_of(settings)
    removing = threading.Event()
    release = threading.Event()
    removed = store.delete

    def slow_delete(key):
        removing.set()  # the delete has decided; its bytes go now
        release.wait(timeout=30)
        removed(key)

    monkeypatch.setattr(type(store), "delete", lambda self, key: slow_delete(key))
    uploader, deleter = app.test_client(), app.test_client()
    for round_ in range(ROUNDS):
        data = photo(color=(40 * round_, 5, 6))
        first = upload(client, data).get_json()["id"]
        removing.clear()
        release.clear()
        thread, deleted = in_thread(lambda: deleter.delete(f"/api/media/{first}").status_code)
        assert removing.wait(timeout=30)
        again_thread, again = in_thread(lambda: upload(uploader, data))
        again_thread.join(timeout=1.0)  # it answers, or waits for the delete to finish
        release.set()
        thread.join(timeout=30)
        again_thread.join(timeout=30)
        assert deleted == [204]
        response = again[0]
        assert response.status_code in (200, 201), response.get_json()
        answered = response.get_json()["id"]
        assert answered != first
        served = client.get(f"/api/media/{answered}/file")
        assert served.status_code == 200 and served.data == data
    with db.database.connection_context():
        assert Media.select().count() == ROUNDS
