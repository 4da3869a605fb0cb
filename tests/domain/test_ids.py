"""An id names one thing forever, on SQLite as on PostgreSQL: a deleted row's
id is never given to a new one (SQLite's plain INTEGER PRIMARY KEY would give
the highest deleted id to the next row), also on a SQLite database made
before AUTOINCREMENT keys, which the schema step rebuilds."""
from __future__ import annotations

import itertools
import json

import pytest
from peewee import AutoField

from socialpub import audit, db, schema
from socialpub.models import (
    TABLES,
    Attempt,
    Audience,
    AudienceMember,
    AttemptDelta,
    Channel,
    Contact,
    Email,
    Media,
    MetaNotification,
    OutboxEvent,
    Post,
    PostMedia,
    Publication,
    PublicationDelta,
    Recipient,
    Template,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

#: The schema's version when ids stopped being reused: a database at it was made with plain keys.
BEFORE_THE_FIX = 26

made = itertools.count(1)


def new_post():
    return Post.create(text="A post")


def new_publication(channels):
    return Publication.create(post=new_post(), channel=channels["facebook"], network="facebook", text="A post")


def new_recipient(channels):
    publication = Publication.create(post=new_post(), channel=channels["whatsapp"], network="whatsapp",
                                     text="A post")
    return Recipient.create(publication=publication, phone="+33612340001")


def new_contact(channels):
    return Contact.create(channel=channels["whatsapp"], phone=f"+336123{next(made):05d}")


def new_media(channels):
    digest = f"{next(made):064x}"
    return Media.create(content_type="image/jpeg", sha256=digest, size_bytes=1, width=1, height=1,
                        storage_key=digest, thumbnail_key=digest)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_deleted_post_s_id_is_never_given_to_the_next_post(client, sandbox_channels):
    made_ids = [client.post("/api/posts", json={"text": f"Post {n}", "channels": [sandbox_channels["facebook"]]})
                .get_json()["id"] for n in range(2)]
    assert client.delete(f"/api/posts/{made_ids[-1]}").status_code == 204

    following = client.post("/api/posts", json={"text": "The next one", "channels": [sandbox_channels["facebook"]]})
    assert following.get_json()["id"] > made_ids[-1]
    # Its History is its own: none of the deleted post's lines.
    history = client.get(f"/api/posts/{following.get_json()['id']}/events").get_json()
    assert [line["action"] for line in history["items"]] == ["created"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("make", [new_publication, new_recipient, new_contact, new_media],
                         ids=["publication", "whatsapp recipient", "contact", "media"])
def test_a_deleted_row_s_id_is_never_given_to_the_next_row(app, sandbox_channels, make):
    with db.database.connection_context():
        make(sandbox_channels)
        deleted = make(sandbox_channels)
        deleted.delete_instance()
        assert make(sandbox_channels).id > deleted.id


def test_every_table_whose_ids_are_seen_hands_each_id_out_once():
    """People (pages, History), links, API clients, webhook consumers and
    callbacks (Meta's, Dramatiq's messages) see these ids; only the delta
    rows, folded and deleted within a minute and never shown, may reuse theirs."""
    from socialpub.models import IdField

    internal = {PublicationDelta, AttemptDelta}
    for model in TABLES:
        key = model._meta.primary_key
        if isinstance(key, AutoField):
            assert isinstance(key, IdField) is (model not in internal), model.__name__


# A SQLite database made before the fix.

def schema_of(database) -> set:
    return set(database.execute_sql("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())


def contents_of(database) -> dict:
    """Every table's rows (but the schema's versions, which the upgrade adds to), indexes, triggers and
    foreign keys."""
    tables = [name for (name,) in database.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> 'schemaversion'")]
    return {
        "rows": {t: database.execute_sql(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables},
        "foreign keys": {t: database.execute_sql(f'PRAGMA foreign_key_list("{t}")').fetchall() for t in tables},
        "indexes and triggers": {row for row in schema_of(database) if row[0] in ("index", "trigger")},
    }


@pytest.fixture
def before_the_fix():
    """The tables as socialpub made them before the fix (peewee's plain
    AutoField, the schema at BEFORE_THE_FIX) for the app made next; calling
    it brings today's code back."""
    from socialpub.models import IdField

    patch = pytest.MonkeyPatch()
    patch.setattr(IdField, "ddl", AutoField.ddl)
    patch.setattr(schema, "STEPS", schema.STEPS[:BEFORE_THE_FIX])
    yield patch.undo
    patch.undo()


def fresh_schema(url) -> set:
    """The schema today's code makes on a new database."""
    current = db.database.obj
    fresh = db.bind(url)
    try:
        with fresh.connection_context():
            schema.upgrade()
            return schema_of(fresh)
    finally:
        db.database.initialize(current)


def fill_history(channels) -> dict:
    """A row in every table; the newest post deleted, its id still named by
    the audit trail, its WhatsApp recipient's by Meta's notification."""
    whatsapp = Channel.get_by_id(channels["whatsapp"])
    posts = [Post.create(text=f"Post {n}") for n in range(3)]
    publications = [Publication.create(post=p, channel=whatsapp, network="whatsapp", text=p.text) for p in posts]
    Attempt.create(publication=publications[0], number=1, started_at=posts[0].created_at,
                   finished_at=posts[0].created_at, outcome="published")
    contact = Contact.create(channel=whatsapp, phone="+33612340001", opted_in_at=posts[0].created_at)
    AudienceMember.create(audience=Audience.create(channel=whatsapp, name="Friends"), contact=contact)
    Template.create(channel=whatsapp, name="news", language="en", category="MARKETING", status="APPROVED")
    recipients = [Recipient.create(publication=p, contact=contact, phone=contact.phone) for p in publications]
    media = new_media(channels)
    PostMedia.create(post=posts[0], media=media, position=0)
    endpoint = WebhookEndpoint.create(url="https://example.com/hook", secret="whsec_x")
    event = OutboxEvent.create(msg_id="msg_1", type="post.published", payload={"data": {"id": posts[0].id}})
    WebhookAttempt.create(delivery=WebhookDelivery.create(event=event, endpoint=endpoint), duration_ms=5)
    Email.create(to="a@example.com", subject="Failed", body=f"See /posts/{posts[0].id}")
    MetaNotification.create(body=json.dumps({"entry": [{"changes": [{"value": {"statuses": [{
        "id": "wamid.1", "status": "delivered",
        "biz_opaque_callback_data": f"socialpub:recipient:{recipients[2].id}"}]}}]}]}))
    audit.record(audit.POST, posts[2].id, "created", actor=None)
    Post.delete().where(Post.id == posts[2].id).execute()  # with its publication and recipient
    audit.record(audit.POST, posts[2].id, "deleted", actor=None)
    return {"post": posts[2].id, "recipient": recipients[2].id}


def test_a_sqlite_database_made_before_the_fix_keeps_everything_when_upgraded_and_then_never_reuses_an_id(
        before_the_fix, app, sandbox_channels, tmp_path):
    database = db.database.obj
    with database.connection_context():
        deleted = fill_history(sandbox_channels)
        assert "AUTOINCREMENT" not in "".join(sql or "" for *_, sql in schema_of(database))
        before = contents_of(database)

        before_the_fix()
        assert schema.upgrade()[0] == BEFORE_THE_FIX
        after = contents_of(database)
        # Every row, index, trigger and foreign key as it was; no foreign key broken; foreign keys on again.
        assert after == before
        assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        assert database.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)
        # The tables as a new database has them.
        assert schema_of(database) == fresh_schema(f"sqlite:///{tmp_path / 'fresh.db'}")

        # No id is given again: not one deleted before the upgrade that something still names…
        assert new_post().id > deleted["post"]
        assert new_recipient(sandbox_channels).id > deleted["recipient"]
        # … nor one deleted after it.
        last = new_contact(sandbox_channels)
        last.delete_instance()
        assert new_contact(sandbox_channels).id > last.id
        assert schema.upgrade()[0] == len(schema.STEPS)  # once only


def test_an_upgrade_that_would_leave_a_reference_broken_changes_nothing(app, sandbox_channels, monkeypatch):
    """Foreign keys are off while the steps run (a rebuilt table's drop must fire
    no ON DELETE): what a step would have cascaded is refused instead."""
    with db.database.connection_context():
        post = new_publication(sandbox_channels).post
        monkeypatch.setattr(schema, "STEPS", [*schema.STEPS, lambda: Post.delete().execute()])

        with pytest.raises(RuntimeError, match="would break references"):
            schema.upgrade()
        assert Post.get_by_id(post.id).publications.count() == 1
        assert schema.current_version() == len(schema.STEPS) - 1
        assert db.database.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)
