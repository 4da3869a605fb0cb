"""The publication counts the monitor and /metrics read: kept by database
triggers in the transaction of every change, folded every minute, always
equal to counting the table — under concurrent changes too."""
from __future__ import annotations

import threading

import pytest
from peewee import fn

from socialpub import db
from socialpub.metrics import tally
from socialpub.models import Post, Publication


def counted() -> dict:
    with db.database.connection_context():
        return {(n, s): c for n, s, c in Publication.select(Publication.network, Publication.status,
                                                            fn.COUNT(Publication.id))
                .group_by(Publication.network, Publication.status).tuples()}


def kept() -> dict:
    with db.database.connection_context():
        return {key: count for key, count in tally.counts().items() if count}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_tally_follows_every_insert_change_and_delete_and_survives_a_fold(
        client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    posts = [create() for _ in range(3)]
    assert kept() == counted() == {(n, "pending"): 3 for n in sandbox_channels}
    for post_id in posts[:2]:
        assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
    drain()
    assert kept() == counted()
    assert counted()[("linkedin", "failed")] == 1
    with db.database.connection_context():
        assert tally.fold() > 0
        assert tally.fold() == 0
    assert kept() == counted()
    assert client.delete(f"/api/posts/{posts[2]}").status_code == 204
    assert kept() == counted() and ("facebook", "pending") not in kept()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_changes_and_folds_lose_no_count(app, sandbox_channels):
    with db.database.connection_context():
        # One that stays pending, and 200 that four threads move while folds run.
        Publication.create(post=Post.create(text="Unsent"), channel=sandbox_channels["facebook"],
                           network="facebook", text="x")
        posts = [Post.create(text=f"p{i}") for i in range(200)]
        ids = [Publication.create(post=p, channel=sandbox_channels["facebook"], network="facebook", text="x").id
               for p in posts]
    errors = []

    def move(chunk):
        try:
            with db.database.connection_context():
                for pub_id in chunk:
                    for status in ("queued", "processing", "published"):
                        with db.write_transaction():
                            Publication.update(status=status).where(Publication.id == pub_id).execute()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    def fold_often(stop):
        with db.database.connection_context():
            while not stop.is_set():
                tally.fold(limit=50)

    stop = threading.Event()
    folder = threading.Thread(target=fold_often, args=(stop,))
    folder.start()
    workers = [threading.Thread(target=move, args=(ids[i::4],)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    folder.join()
    assert errors == []
    assert kept() == counted() == {("facebook", "published"): 200, ("facebook", "pending"): 1}
