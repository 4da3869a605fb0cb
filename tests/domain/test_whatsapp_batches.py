"""Meta's notifications applied in batches (whatsapp/inbound.apply_pending):
many at once end as the same statuses as each applied in turn, only forward,
unknown messages ignored; two appliers never take the same notification, and
one a dead worker left is applied by the redrive."""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading

import pytest

from socialpub import db
from socialpub.db import write_transaction
from socialpub.models import Channel, MetaNotification, Post, Publication, Recipient, utcnow
from socialpub.whatsapp import inbound, ledger
from socialpub.worker import coalesce
from socialpub.worker.actors import apply_meta_notification

both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
START = 1_700_000_000


def body(number: str, *statuses: dict) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": number},
                                       "statuses": list(statuses)}}]}]}).encode()


def status(wamid: str, state: str, at: int, **more) -> dict:
    return {"id": wamid, "status": state, "timestamp": str(at), **more}


def broadcast(channel_id: int, count: int, label: str, status: str = "sent") -> tuple:
    """A WhatsApp publication already sent to ``count`` people; returns (its id, message ids, the number)."""
    with db.database.connection_context():
        channel = Channel.get_by_id(channel_id)
        post = Post.create(text=f"Batch {label}", status="published")
        publication = Publication.create(post=post, channel=channel, network="whatsapp", text=post.text,
                                         status="published")
        wamids = [f"wamid.{label}-{i}" for i in range(count)]
        Recipient.insert_many([{"publication": publication.id, "phone": f"+336123{i:05d}", "status": status,
                                "message_id": wamid} for i, wamid in enumerate(wamids)]).execute()
    return publication.id, wamids, channel.account_id


def final(publication_id: int) -> list:
    with db.database.connection_context():
        return [(r.status, r.sent_at, r.delivered_at, r.read_at, r.failed_at, r.error_code)
                for r in Recipient.select().where(Recipient.publication == publication_id).order_by(Recipient.id)]


def statuses_of(publication_id: int) -> list:
    return [row[0] for row in final(publication_id)]


def store(*bodies: bytes) -> list:
    with db.database.connection_context():
        return [inbound.receive(b) for b in bodies]


def apply_all(limit: int = inbound.BATCH) -> list:
    touched = set()
    with db.database.connection_context():
        while True:
            count, found = inbound.apply_pending(limit)
            touched.update(found)
            if not count:
                return sorted(touched)


def unapplied() -> int:
    with db.database.connection_context():
        return MetaNotification.select().where(MetaNotification.applied_at.is_null()).count()


@both_databases
def test_many_notifications_applied_in_one_batch_end_as_each_applied_in_turn(app, sandbox_channels):
    channel = sandbox_channels["whatsapp"]
    one_by_one, first_ids, number = broadcast(channel, 30, "turn")
    batched, second_ids, _ = broadcast(channel, 30, "batch")
    rng = random.Random(30)
    events = []  # (message index, status without its id): sent, delivered, read, duplicates, some failures
    for i in range(30):
        for step, state in enumerate(("sent", "delivered", "read")[:rng.randint(1, 3)]):
            events += [(i, {"status": state, "timestamp": str(START + 10 * i + step)})] * rng.randint(1, 2)
        if i % 7 == 0:
            events.append((i, {"status": "failed", "timestamp": str(START + 10 * i + 5),
                               "errors": [{"code": 131026, "title": "Message undeliverable"}]}))
    rng.shuffle(events)
    with db.database.connection_context(), write_transaction():
        for i, event in events:  # the reference: each status on its own, as before batches
            ledger.apply_status(number, {"id": first_ids[i], **event})
    # The same statuses, several to a notification, all in one batch.
    chunks = [events[k:k + 3] for k in range(0, len(events), 3)]
    store(*(body(number, *({"id": second_ids[i], **event} for i, event in chunk)) for chunk in chunks))
    with db.database.connection_context():
        count, touched = inbound.apply_pending()
    assert (count, touched) == (len(chunks), [batched])
    assert final(batched) == final(one_by_one)
    assert {"read", "failed"} <= set(statuses_of(batched))
    assert unapplied() == 0


@both_databases
def test_statuses_out_of_order_only_move_forward_within_a_batch_and_across_batches(app, sandbox_channels):
    publication_id, wamids, number = broadcast(sandbox_channels["whatsapp"], 3, "order")
    first, second, third = wamids
    # In one batch: read before sent and delivered.
    store(body(number, status(first, "read", START + 3)), body(number, status(first, "sent", START + 1)),
          body(number, status(first, "delivered", START + 2)))
    apply_all()
    # Across batches: read, then a later batch brings delivered and sent.
    store(body(number, status(second, "read", START + 3)))
    apply_all()
    store(body(number, status(second, "delivered", START + 2), status(second, "sent", START + 1)))
    apply_all()
    # One at a time: delivered then sent.
    store(body(number, status(third, "delivered", START + 2)), body(number, status(third, "sent", START + 1)))
    apply_all(limit=1)
    rows = final(publication_id)
    assert [r[0] for r in rows] == ["read", "read", "delivered"]
    at = dt.datetime.utcfromtimestamp
    # Each time is the first one Meta gave of it, in the order they came.
    assert rows[0][1:4] == (at(START + 3), at(START + 3), at(START + 3))
    assert rows[2][1:4] == (at(START + 2), at(START + 2), None)


@both_databases
def test_a_notification_for_an_unknown_message_is_ignored_and_marked_applied(app, sandbox_channels, caplog):
    caplog.set_level(logging.INFO, logger="socialpub.whatsapp.inbound")
    publication_id, [wamid], number = broadcast(sandbox_channels["whatsapp"], 1, "unknown")
    store(body(number, status("wamid.not-ours", "delivered", START)),
          body("999999999999999", status(wamid, "read", START)),  # another business number's
          body(number, status(wamid, "delivered", START)), b"not json at all")
    assert apply_all() == [publication_id]
    assert statuses_of(publication_id) == ["delivered"]
    assert unapplied() == 0
    assert "not one of ours" in caplog.text


def test_a_notification_that_cannot_be_applied_is_set_aside_and_the_next_batches_go_in_one(
        app, sandbox_channels, monkeypatch, caplog):
    publication_id, wamids, number = broadcast(sandbox_channels["whatsapp"], 3, "poison")
    poison, *good = store(body(number, status(wamids[0], "delivered", START)),
                          body(number, status(wamids[1], "delivered", START)),
                          body(number, status(wamids[2], "read", START)))
    real = ledger.apply_statuses

    def breaks_on_the_first(statuses):  # stands for a notification our code does not know how to read
        if any(s.get("id") == wamids[0] for _, s in statuses):
            raise AttributeError("'str' object has no attribute 'get'")
        return real(statuses)

    monkeypatch.setattr(ledger, "apply_statuses", breaks_on_the_first)
    apply_all()
    assert statuses_of(publication_id) == ["sent", "delivered", "read"]  # the others were applied
    assert unapplied() == 0 and f"Meta notification {poison} could not be applied" in caplog.text
    with db.database.connection_context():
        assert MetaNotification.get_by_id(poison).body  # kept, for whoever looks into it
    later = store(body(number, status(wamids[1], "read", START + 5)))
    caplog.clear()
    assert apply_all() == [publication_id] and "one at a time" not in caplog.text  # one batch again
    assert statuses_of(publication_id) == ["sent", "read", "read"] and later


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_batch_appliers_at_once_never_apply_the_same_notification_twice(app, sandbox_channels, monkeypatch):
    publication_id, wamids, number = broadcast(sandbox_channels["whatsapp"], 100, "twice")
    store(*(body(number, status(w, "delivered", START)) for w in wamids))
    taken = {}
    both_inside = threading.Barrier(2, timeout=20)
    apply_each = inbound._apply_all

    def recording(notifications):
        taken.setdefault(threading.get_ident(), []).extend(i for i, _ in notifications)
        if notifications:
            both_inside.wait()  # each holds its batch, uncommitted, while the other takes one
        return apply_each(notifications)

    monkeypatch.setattr(inbound, "_apply_all", recording)
    errors = []

    def applier():
        try:
            with db.database.connection_context():
                inbound.apply_pending(60)
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=applier) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    first, second = taken.values()
    assert len(first) + len(second) == 100 and not set(first) & set(second)
    assert unapplied() == 0
    assert statuses_of(publication_id) == ["delivered"] * 100


@both_databases
def test_a_notification_left_unapplied_when_its_worker_died_is_applied_by_the_redrive(
        app, sandbox_channels, monkeypatch, broker, worker, settle):
    publication_id, [wamid], number = broadcast(sandbox_channels["whatsapp"], 1, "redrive")
    [notification_id] = store(body(number, status(wamid, "read", START)))

    def dies(statuses):
        raise SystemExit("the worker was killed mid-batch")

    with monkeypatch.context() as patched:
        patched.setattr(ledger, "apply_statuses", dies)
        with pytest.raises(SystemExit), db.database.connection_context():
            inbound.apply_pending()
    assert unapplied() == 1 and statuses_of(publication_id) == ["sent"]  # the batch rolled back
    with db.database.connection_context():
        assert inbound.redrive(apply_meta_notification.send) == 0  # not lost yet: its message may come
        MetaNotification.update(received_at=utcnow() - inbound.REDRIVE_AFTER * 2).where(
            MetaNotification.id == notification_id).execute()
        assert inbound.redrive(apply_meta_notification.send) == 1
    settle()
    assert unapplied() == 0
    assert statuses_of(publication_id) == ["read"]


class Recording:
    """An actor as coalesce.py sees it, on the test's Redis, counting its messages."""

    queue_name, actor_name = "test-webhooks", "apply_meta_notification"

    def __init__(self, broker):
        self.broker, self.sent = broker, []

    def send(self, *args):
        self.sent.append(args)


def test_a_burst_of_posts_sends_one_message_until_a_run_has_taken_them(broker):
    actor = Recording(broker)
    coalesce.taken(actor)  # whatever an earlier run left
    assert [coalesce.request(actor, i) for i in range(1, 6)] == [True, False, False, False, False]
    coalesce.taken(actor)  # the run starts: what comes from now on may be after its read
    assert coalesce.request(actor, 6) and actor.sent == [(1,), (6,)]
    # A message lost on its way holds back nobody for long: the key expires.
    assert 0 < broker.client.pttl(coalesce._key(actor)) <= coalesce.TTL_MS
    coalesce.taken(actor)
