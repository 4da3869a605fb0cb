"""The schema's history: step n brings a database from version n-1 to n
(schema.py runs the steps a database has not seen, in one transaction).

Every step is frozen: the columns it adds, the tables it creates and the rows
it reads or writes are declared in the step itself — peewee fields and
``_Frozen`` tables with their names spelt out — never taken from
``socialpub.models``. A model moves on (a column renamed, a length changed,
a table gained a column in a later step); a step must keep doing what it did
for every database that has yet to run it. A change to a model is a new step
at the end of ``STEPS``, declaring what it changes.

Step 1 is the schema socialpub started with: four tables, plain keys, a
200-character ``external_id``. A new database does not replay this history:
schema.py creates today's models and marks every step applied (a baseline).
Why not a replay of the steps for everyone: a new database would carry
history's marks that a new install has no use for (columns in the order the
steps added them, SQLite's ``external_id`` still a VARCHAR(200), four tables
rebuilt for AUTOINCREMENT), or else step 1 would have to be today's schema and
the steps would no longer say how an old database gets there. With the
baseline, step 1 stays the real first schema, and tests/domain/test_schema_steps.py
replays every step from it and checks that the result is, table for table,
column for column, index for index, the schema a new database gets — on
SQLite and on PostgreSQL. That test fails when a model changes without a step
(or a step without its model), and when a step stops working on the schema it
was written for.

The steps after step 1 declare what they add or create as the models
declared it on the day of the freeze, not as it was when each was written, so
that a database at any version ends as it did before. (Taking them from the models had broken the steps an older database
needs: step 3 made its index twice, step 21 read channel columns of step 32,
steps 8 and 23 passed their index's WHERE as parameters, which SQLite
refuses.) Two steps still call today's code rather than a copy:
``_tally`` and ``_recent`` install the monitor's triggers and start its counts
with metrics/tally.py and metrics/recent.py — the counts must be made by the
rules that read them — and ``_whatsapp`` reads numbers with today's
``normalised``; a change there that no longer fits an older schema fails the
replay test.

A step that rebuilds a SQLite table must carry its ``sqlite_sequence`` row
over: copying the rows starts the sequence at the highest id left, and the ids
of deleted rows above it would be handed out again.
"""
from __future__ import annotations

import logging
import re

from peewee import (
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    PeeweeException,
    SqliteDatabase,
    TextField,
)
from playhouse.migrate import SchemaMigrator, migrate

from .db import database
from .encryption import EncryptedTextField, encrypt_plaintext
from .models.base import IdField, JSONField, utcnow

logger = logging.getLogger(__name__)


class _Frozen(Model):
    """A table as a step declares it. Each names its table (``Meta.table_name``);
    foreign keys take ``backref="+"``: a step's tables need no way back."""

    class Meta:
        database = database


def _table(name: str):
    """A table an earlier step made, as the target of a foreign key: its name and its integer ``id``."""
    return type(name, (_Frozen,), {"Meta": type("Meta", (), {"table_name": name})})


def _add_columns(table: str, **fields) -> None:
    """Add each of ``fields`` (column name → field) that ``table`` lacks; a
    field with ``index=True`` gets its index too (``add_column`` makes it)."""
    have = {c.name for c in database.get_columns(table)}
    migrator = SchemaMigrator.from_database(database.obj)
    missing = [migrator.add_column(table, name, field) for name, field in fields.items() if name not in have]
    if missing:
        migrate(*missing)


def _create_tables():
    """The first schema: channels, posts, their publications and attempts."""

    class Channel(_Frozen):
        network = CharField(max_length=16, index=True)
        name = CharField(max_length=100)
        account_id = CharField(max_length=200)
        token = TextField()
        base_url = CharField(max_length=300)
        recipients = JSONField(default=list)
        api_version = CharField(max_length=16, null=True)
        enabled = BooleanField(default=True)
        created_at = DateTimeField(default=utcnow)
        updated_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "channel"

    class Post(_Frozen):
        text = TextField()
        image_url = TextField(null=True)
        link = TextField(null=True)
        status = CharField(max_length=24, default="draft", index=True)
        created_at = DateTimeField(default=utcnow, index=True)
        updated_at = DateTimeField(default=utcnow)
        publish_requested_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)

        class Meta:
            table_name = "post"

    class Publication(_Frozen):
        post = ForeignKeyField(Post, backref="+", on_delete="CASCADE")
        channel = ForeignKeyField(Channel, backref="+")
        network = CharField(max_length=16)
        text = TextField()
        status = CharField(max_length=16, default="pending", index=True)
        attempts = IntegerField(default=0)
        task_id = CharField(max_length=64, null=True)
        external_id = CharField(max_length=200, null=True)
        external_url = TextField(null=True)
        last_error = TextField(null=True)
        last_error_code = CharField(max_length=32, null=True)
        created_at = DateTimeField(default=utcnow)
        updated_at = DateTimeField(default=utcnow)
        enqueued_at = DateTimeField(null=True)
        started_at = DateTimeField(null=True)
        next_attempt_at = DateTimeField(null=True)
        published_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)

        class Meta:
            table_name = "publication"
            indexes = ((("post", "channel"), True),)

    class Attempt(_Frozen):
        publication = ForeignKeyField(Publication, backref="+", on_delete="CASCADE")
        number = IntegerField()
        started_at = DateTimeField()
        finished_at = DateTimeField()
        outcome = CharField(max_length=16)
        error_code = CharField(max_length=32, null=True)
        error = TextField(null=True)

        class Meta:
            table_name = "attempt"
            indexes = ((("publication", "number"), False),)

    database.create_tables([Channel, Post, Publication, Attempt])


def _delivery_state():
    """Channel state and Instagram containers (delivery guarantees)."""
    _add_columns("channel", state=CharField(max_length=16, default="active"), state_reason=TextField(null=True),
                 last_published_at=DateTimeField(null=True))
    _add_columns("publication", container_id=CharField(max_length=64, null=True),
                 ambiguous_since=DateTimeField(null=True), retries=IntegerField(default=0),
                 rate_limit_waits=IntegerField(default=0))


def _scheduling():
    """Scheduled posts."""
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("post")}
    # The column without index=True: the index is the step's own add_index (both would make it twice).
    steps = [migrator.add_column("post", name, field)
             for name, field in (("scheduled_at", DateTimeField(null=True)),
                                 ("schedule_zone", CharField(max_length=64, null=True))) if name not in have]
    if "scheduled_at" not in have:
        steps.append(migrator.add_index("post", ("scheduled_at",)))
    migrate(*steps)


def _accounts():
    """Users and API tokens."""

    class User(_Frozen):
        id = IdField()
        email = CharField(max_length=254, unique=True)
        role = CharField(max_length=16, default="viewer")
        password_hash = CharField(max_length=255, default="")
        disabled = BooleanField(default=False)
        session_version = IntegerField(default=0)
        created_at = DateTimeField(default=utcnow)
        last_sign_in_at = DateTimeField(null=True)
        notifications = JSONField(null=True)

        class Meta:
            table_name = "user"

    class ApiToken(_Frozen):
        id = IdField()
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        name = CharField(max_length=100)
        prefix = CharField(max_length=16)
        digest = CharField(max_length=64, unique=True)
        created_at = DateTimeField(default=utcnow)
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            table_name = "apitoken"

    database.create_tables([User, ApiToken], safe=True)


def _encrypted_tokens():
    """Channel tokens encrypted at rest. The column is TEXT already, which
    holds the longer Fernet text."""

    class Channel(_Frozen):
        token = EncryptedTextField()

        class Meta:
            table_name = "channel"

    count = encrypt_plaintext(Channel, Channel.token)
    if count:
        logger.info("Encrypted the tokens of %d channel(s).", count)


def _long_external_ids():
    """WhatsApp keeps one message id per recipient: more than 200 characters
    from four recipients on. (SQLite does not enforce a VARCHAR's length.)"""
    if not isinstance(database.obj, SqliteDatabase):
        database.execute_sql("ALTER TABLE publication ALTER COLUMN external_id TYPE TEXT")


def _session_versions():
    """Sessions that signing out ends (see User.session_version)."""
    _add_columns("user", session_version=IntegerField(default=0))


def _held_items_index():
    """Who holds a network's item, looked up before adopting one (delivery.held_elsewhere).
    Partial: WhatsApp's external_id, one id per recipient, can be longer than an index entry may be."""
    database.execute_sql('CREATE INDEX IF NOT EXISTS "publication_network_external_id" ON "publication" '
                         '("network", "external_id") WHERE ("network" != \'whatsapp\')')


def _idempotency_keys():
    """Requests made with an Idempotency-Key, and their answers."""

    class IdempotencyKey(_Frozen):
        id = IdField()
        user = ForeignKeyField(_table("user"), backref="+", on_delete="CASCADE")
        key = CharField(max_length=255)
        fingerprint = CharField(max_length=64)
        status = IntegerField(null=True)
        body = TextField(null=True)
        location = TextField(null=True)
        created_at = DateTimeField(default=utcnow, index=True)
        owner = CharField(max_length=32, null=True)
        lease_until = DateTimeField(null=True)
        changed_post = IntegerField(null=True)

        class Meta:
            table_name = "idempotencykey"
            indexes = ((("user", "key"), True),)

    database.create_tables([IdempotencyKey], safe=True)


def _connected_tokens():
    """What an OAuth connection learns of its token (Channel.token_expires_at, …)."""
    _add_columns("channel", token_expires_at=DateTimeField(null=True), scopes=TextField(null=True),
                 refresh_token=EncryptedTextField(null=True), refresh_token_expires_at=DateTimeField(null=True),
                 token_refreshing_since=DateTimeField(null=True), picture_url=TextField(null=True))


def _connection_details():
    """Which app's OAuth flow a channel came through, and what the network says of the account."""
    _add_columns("channel", connected_via=CharField(max_length=16, null=True), detail=TextField(null=True))


def _media():
    """Uploaded media, the posts' images (Media, PostMedia), and each publication's
    checkpointed uploads (Publication.uploads)."""

    class Media(_Frozen):
        id = IdField()
        kind = CharField(max_length=16, default="image")
        content_type = CharField(max_length=64)
        sha256 = CharField(max_length=64, unique=True)
        received_sha256 = CharField(max_length=64, null=True, index=True)
        size_bytes = IntegerField()
        width = IntegerField()
        height = IntegerField()
        storage_key = CharField(max_length=100)
        thumbnail_key = CharField(max_length=100)
        jpeg_key = CharField(max_length=100, null=True)
        original_name = CharField(max_length=200, null=True)
        created_at = DateTimeField(default=utcnow, index=True)

        class Meta:
            table_name = "media"

    class PostMedia(_Frozen):
        id = IdField()
        post = ForeignKeyField(_table("post"), backref="+", on_delete="CASCADE")
        media = ForeignKeyField(Media, backref="+")
        position = IntegerField()

        class Meta:
            table_name = "postmedia"
            indexes = ((("post", "position"), True),)

    database.create_tables([Media, PostMedia], safe=True)
    _add_columns("publication", uploads=JSONField(null=True))


def _calendar_index():
    """The calendar's window of posts published without a schedule (Post.publish_requested_at)."""
    database.execute_sql("CREATE INDEX IF NOT EXISTS post_publish_requested_at ON post (publish_requested_at)")


def _queues():
    """Each channel's posting times (Channel.queue)."""
    _add_columns("channel", queue=JSONField(null=True))


def _image_fetches():
    """Each post's image_url as fetched into the media library (ImageFetch)."""

    class ImageFetch(_Frozen):
        post = ForeignKeyField(_table("post"), primary_key=True, backref="+", on_delete="CASCADE")
        url = TextField()
        media = ForeignKeyField(_table("media"), null=True, backref="+")
        claimed_at = DateTimeField()
        error = TextField(null=True)

        class Meta:
            table_name = "imagefetch"

    database.create_tables([ImageFetch], safe=True)


def _roles():
    """Each user's role (User.role): everyone who could sign in before could do
    everything, so they become admins."""
    _add_columns("user", role=CharField(max_length=16, default="admin"))


def _team():
    """Invitations and the audit trail (Invitation, Event)."""

    class Invitation(_Frozen):
        id = IdField()
        email = CharField(max_length=254, index=True)
        role = CharField(max_length=16)
        digest = CharField(max_length=64, unique=True)
        user = ForeignKeyField(_table("user"), null=True, backref="+", on_delete="CASCADE")
        invited_by = ForeignKeyField(_table("user"), null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField(default=utcnow)
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        withdrawn_at = DateTimeField(null=True)

        class Meta:
            table_name = "invitation"

    class Event(_Frozen):
        id = IdField()
        at = DateTimeField(default=utcnow, index=True)
        actor = ForeignKeyField(_table("user"), null=True, backref="+", on_delete="SET NULL")
        subject = CharField(max_length=16)
        subject_id = IntegerField()
        action = CharField(max_length=32)
        detail = JSONField(null=True)

        class Meta:
            table_name = "event"
            indexes = ((("subject", "subject_id", "id"), False),)

    database.create_tables([Invitation, Event], safe=True)


def _approval():
    """Approval: the channels that need it, and each post's request and answer."""
    _add_columns("post", approval_asked=CharField(max_length=16, null=True), submitted_by=IntegerField(null=True),
                 approved_by=IntegerField(null=True), approved_at=DateTimeField(null=True),
                 review_comment=TextField(null=True))
    _add_columns("channel", requires_approval=BooleanField(default=False))


def _webhooks():
    """Outcome webhooks: the endpoints, the outbox, each delivery and its tries."""

    class WebhookEndpoint(_Frozen):
        id = IdField()
        url = TextField()
        description = CharField(max_length=200, default="")
        events = JSONField(default=list)
        enabled = BooleanField(default=True)
        secret = EncryptedTextField()
        previous_secret = EncryptedTextField(null=True)
        previous_secret_until = DateTimeField(null=True)
        disabled_reason = TextField(null=True)
        failing_since = DateTimeField(null=True)
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "webhookendpoint"

    class OutboxEvent(_Frozen):
        id = IdField()
        msg_id = CharField(max_length=40, unique=True)
        type = CharField(max_length=40)
        payload = JSONField()
        created_at = DateTimeField(default=utcnow, index=True)

        class Meta:
            table_name = "outboxevent"

    class WebhookDelivery(_Frozen):
        id = IdField()
        event = ForeignKeyField(OutboxEvent, backref="+", on_delete="CASCADE")
        endpoint = ForeignKeyField(WebhookEndpoint, backref="+", on_delete="CASCADE")
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=utcnow)
        touched_at = DateTimeField(default=utcnow)
        last_status_code = IntegerField(null=True)
        last_error = TextField(null=True)
        delivered_at = DateTimeField(null=True)

        class Meta:
            table_name = "webhookdelivery"
            indexes = ((("status", "next_attempt_at"), False), (("endpoint", "id"), False),
                       (("status", "touched_at"), False))

    class WebhookAttempt(_Frozen):
        id = IdField()
        delivery = ForeignKeyField(WebhookDelivery, backref="+", on_delete="CASCADE")
        at = DateTimeField(default=utcnow)
        status_code = IntegerField(null=True)
        duration_ms = IntegerField()
        excerpt = TextField(null=True)

        class Meta:
            table_name = "webhookattempt"

    database.create_tables([WebhookEndpoint, OutboxEvent, WebhookDelivery, WebhookAttempt], safe=True)
    _add_columns("channel", expiry_warned_for=DateTimeField(null=True))


def _email():
    """E-mails (Email) and each user's choice of what to be told (User.notifications)."""

    class Email(_Frozen):
        id = IdField()
        user = ForeignKeyField(_table("user"), null=True, backref="+", on_delete="CASCADE")
        to = CharField(max_length=254)
        subject = CharField(max_length=300)
        body = TextField(null=True)
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(default=utcnow)
        touched_at = DateTimeField(default=utcnow)
        last_error = TextField(null=True)
        created_at = DateTimeField(default=utcnow)
        sent_at = DateTimeField(null=True)

        class Meta:
            table_name = "email"
            indexes = ((("status", "next_attempt_at"), False), (("status", "touched_at"), False))

    database.create_tables([Email], safe=True)
    _add_columns("user", notifications=JSONField(null=True))


def _whatsapp():
    """WhatsApp as Meta allows it: contacts and their consent, audiences,
    templates, each publication's recipients, Meta's notifications; every
    channel's recipients become opted-in contacts (they were given as such)."""

    class Channel(_Frozen):
        network = CharField(max_length=16)
        recipients = JSONField(default=list)

        class Meta:
            table_name = "channel"

    class Contact(_Frozen):
        id = IdField()
        channel = ForeignKeyField(Channel, backref="+", on_delete="CASCADE")
        phone = CharField(max_length=20, null=True)
        user_id = CharField(max_length=140, null=True)
        username = CharField(max_length=100, null=True)
        name = CharField(max_length=100, null=True)
        opted_in_at = DateTimeField(null=True)
        opt_in_method = CharField(max_length=200, null=True)
        opt_in_by = CharField(max_length=200, null=True)
        opt_in_evidence = TextField(null=True)
        opted_out_at = DateTimeField(null=True)
        opt_out_reason = TextField(null=True)
        last_inbound_at = DateTimeField(null=True)
        window_closed_at = DateTimeField(null=True)
        paused_until = DateTimeField(null=True)
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "contact"
            indexes = ((("channel", "phone"), True), (("channel", "user_id"), True))

    class Audience(_Frozen):
        id = IdField()
        channel = ForeignKeyField(Channel, backref="+", on_delete="CASCADE")
        name = CharField(max_length=100)
        created_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "audience"
            indexes = ((("channel", "name"), True),)

    class AudienceMember(_Frozen):
        audience = ForeignKeyField(Audience, backref="+", on_delete="CASCADE")
        contact = ForeignKeyField(Contact, backref="+", on_delete="CASCADE")

        class Meta:
            table_name = "audiencemember"
            primary_key = CompositeKey("audience", "contact")

    class Template(_Frozen):
        id = IdField()
        channel = ForeignKeyField(Channel, backref="+", on_delete="CASCADE")
        name = CharField(max_length=512)
        language = CharField(max_length=16)
        category = CharField(max_length=32)
        status = CharField(max_length=32)
        components = JSONField(default=list)
        synced_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "template"
            indexes = ((("channel", "name", "language"), True),)

    class Recipient(_Frozen):
        id = IdField()
        publication = ForeignKeyField(_table("publication"), backref="+", on_delete="CASCADE")
        contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="SET NULL")
        phone = CharField(max_length=20, null=True)
        user_id = CharField(max_length=140, null=True)
        status = CharField(max_length=16, default="pending")
        kind = CharField(max_length=16, null=True)
        message_id = CharField(max_length=128, null=True, index=True)
        error_code = CharField(max_length=32, null=True)
        error = TextField(null=True)
        attempt = IntegerField(default=0)
        not_before = DateTimeField(null=True)
        sending_at = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)
        delivered_at = DateTimeField(null=True)
        read_at = DateTimeField(null=True)
        failed_at = DateTimeField(null=True)
        updated_at = DateTimeField(default=utcnow)

        class Meta:
            table_name = "recipient"
            indexes = ((("publication", "phone"), True), (("phone", "sent_at"), False),
                       (("publication", "user_id"), True))

    class MetaNotification(_Frozen):
        id = IdField()
        body = TextField()
        received_at = DateTimeField(default=utcnow)
        applied_at = DateTimeField(null=True, index=True)

        class Meta:
            table_name = "metanotification"

    class Event(_Frozen):  # the audit trail's line, as _team made it
        at = DateTimeField()
        actor = IntegerField(column_name="actor_id", null=True)
        subject = CharField(max_length=16)
        subject_id = IntegerField()
        action = CharField(max_length=32)
        detail = JSONField(null=True)

        class Meta:
            table_name = "event"

    database.create_tables([Contact, Audience, AudienceMember, Template, Recipient, MetaNotification], safe=True)
    _add_columns("channel", business_account_id=CharField(max_length=64, null=True))
    _add_columns("post", whatsapp=JSONField(null=True))
    _adopt_recipients(Channel, Contact, Event)


def _adopt_recipients(channel_table, contact_table, event_table) -> None:
    """Each WhatsApp channel's recipients that are not its contacts yet become
    contacts, opted in by whoever listed them (listing them was the statement
    that they agreed); one line of the audit trail per channel, by socialpub."""
    from .errors import InvalidInput
    from .whatsapp.contacts import normalised

    Channel, Contact, Event = channel_table, contact_table, event_table
    by = "socialpub (the channel's recipient list)"
    for channel_id, recipients in (Channel.select(Channel.id, Channel.recipients)
                                   .where(Channel.network == "whatsapp").tuples()):
        numbers = []
        for number in recipients or ():
            try:
                numbers.append(normalised(number))
            except InvalidInput:
                continue  # an earlier, laxer check let it in; it stays off the contacts
        known = {p for (p,) in Contact.select(Contact.phone).where(Contact.channel == channel_id).tuples()}
        fresh = [phone for phone in numbers if phone not in known]
        if not fresh:
            continue
        now = utcnow()
        for phone in fresh:  # a number listed twice is one contact
            (Contact.insert(channel=channel_id, phone=phone, created_at=now, opted_in_at=now,
                            opt_in_method="listed as a recipient of the channel", opt_in_by=by)
             .on_conflict_ignore().execute())
        Event.insert(at=utcnow(), actor=None, subject="channel", subject_id=channel_id, action="contacts saved",
                     detail={"count": len(fresh), "opted_in": len(fresh), "kept_opted_out": []}).execute()


def _retention():
    """Indexes on the times retention (retention.py) prunes by."""
    for name, table, columns in (("attempt_finished_at", "attempt", '"finished_at"'),
                                 ("event_at", "event", '"at"'),
                                 ("webhookdelivery_status_touched_at", "webhookdelivery", '"status", "touched_at"'),
                                 ("email_status_touched_at", "email", '"status", "touched_at"')):
        database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({columns})')


def _tally():
    """Publication counts kept by triggers (metrics/tally.py), started from one
    count of the table; the indexes the monitor's recent reads use (the latest
    failures: the statuses below, newest first)."""
    from .metrics import tally

    class PublicationTally(_Frozen):
        network = CharField(max_length=16)
        status = CharField(max_length=16)
        count = IntegerField(default=0)

        class Meta:
            table_name = "publicationtally"
            primary_key = CompositeKey("network", "status")

    class PublicationDelta(_Frozen):
        network = CharField(max_length=16)
        status = CharField(max_length=16)
        change = IntegerField()
        finished_at = DateTimeField(null=True)

        class Meta:
            table_name = "publicationdelta"

    database.create_tables([PublicationTally, PublicationDelta], safe=True)
    tally.install(database)
    database.execute_sql('CREATE INDEX IF NOT EXISTS "publication_finished_at" ON "publication" ("finished_at")')
    database.execute_sql('CREATE INDEX IF NOT EXISTS "publication_updated_at" ON "publication" ("updated_at") '
                         "WHERE (\"status\" IN ('failed', 'partly_failed', 'expired', 'unconfirmed', 'retrying'))")


def _text_search():
    """PostgreSQL: a trigram index for the posts' text search (LIKE '%…%' on
    lower(text)), from the pg_trgm extension. Where it cannot be created (an
    account without the right), searching works without it, by reading the table."""
    if isinstance(database.obj, SqliteDatabase):
        return
    try:
        with database.atomic():  # a savepoint: a refusal leaves the upgrade's transaction usable
            database.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except PeeweeException as exc:
        logger.warning("pg_trgm could not be created (%s); the text search reads the whole post table.",
                       str(exc).strip().splitlines()[0])
        return
    database.execute_sql("CREATE INDEX IF NOT EXISTS post_text_trigrams ON post USING gin (lower(text) gin_trgm_ops)")


def _recent():
    """The monitor's recent outcomes and attempt times, by the minute and the
    hour (metrics/recent.py): the deltas carry when a publication finished, a
    trigger counts each attempt; both started from the tables' last day."""
    from .metrics import recent, tally

    class AttemptDelta(_Frozen):
        network = CharField(max_length=16)
        finished_at = DateTimeField()
        seconds = FloatField()

        class Meta:
            table_name = "attemptdelta"

    class RecentOutcome(_Frozen):
        span = CharField(max_length=6)
        start = DateTimeField()
        network = CharField(max_length=16)
        status = CharField(max_length=16)
        count = IntegerField(default=0)

        class Meta:
            table_name = "recentoutcome"
            primary_key = CompositeKey("span", "start", "network", "status")

    class RecentAttempts(_Frozen):
        span = CharField(max_length=6)
        start = DateTimeField()
        network = CharField(max_length=16)
        bucket = IntegerField()
        count = IntegerField(default=0)
        seconds = FloatField(default=0)

        class Meta:
            table_name = "recentattempts"
            primary_key = CompositeKey("span", "start", "network", "bucket")

    _add_columns("publicationdelta", finished_at=DateTimeField(null=True))
    database.create_tables([AttemptDelta, RecentOutcome, RecentAttempts], safe=True)
    tally.install(database)
    recent.install(database)


def _business_scoped_ids():
    """WhatsApp people known by Meta's business-scoped user id (BSUID): a
    contact's and a recipient's ``user_id`` (unique per channel, per
    publication), the contact's username, and a number no longer required —
    a person whose username hides it is known by the BSUID alone."""
    migrator = SchemaMigrator.from_database(database.obj)
    for table, fields in (("contact", {"user_id": CharField(max_length=140, null=True),
                                       "username": CharField(max_length=100, null=True)}),
                          ("recipient", {"user_id": CharField(max_length=140, null=True)})):
        _add_columns(table, **fields)
        if not {c.name: c for c in database.get_columns(table)}["phone"].null:
            _drop_not_null(migrator, table, "phone", "VARCHAR(20)")
    for name, table, parent in (("contact_channel_id_user_id", "contact", "channel_id"),
                                ("recipient_publication_id_user_id", "recipient", "publication_id")):
        database.execute_sql(f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{parent}", "user_id")')


def _drop_not_null(migrator, table: str, column: str, datatype: str):
    """Let ``column`` be empty. SQLite cannot alter a column, and rebuilding the
    table would fire its children's ON DELETE (a contact's audience memberships,
    its recipients): the column is copied to a new one instead, its indexes
    dropped and made again."""
    if not isinstance(database.obj, SqliteDatabase):
        migrate(migrator.drop_not_null(table, column))
        return
    indexes = [i for i in database.get_indexes(table) if column in i.columns]
    for index in indexes:
        database.execute_sql(f'DROP INDEX "{index.name}"')
    spare = f"{column}__nullable"
    database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{spare}" {datatype}')
    database.execute_sql(f'UPDATE "{table}" SET "{spare}" = "{column}"')
    database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    database.execute_sql(f'ALTER TABLE "{table}" RENAME COLUMN "{spare}" TO "{column}"')
    for index in indexes:
        database.execute_sql(index.sql)


#: The tables whose ids leave the database (an IdField key) when ``_ids_never_reused`` was written.
_NAMED_TABLES = ("channel", "post", "publication", "attempt", "user", "apitoken", "idempotencykey", "media",
                 "postmedia", "invitation", "event", "webhookendpoint", "outboxevent", "webhookdelivery",
                 "webhookattempt", "email", "contact", "audience", "template", "recipient", "metanotification",
                 "notice", "quotause", "firstcomment", "metricreading", "reviewlink",
                 "reviewlinkpost", "reviewdecision", "shortlink", "snippet")


def _ids_never_reused():
    """SQLite: every table whose ids leave the database (models.IdField) gets an
    AUTOINCREMENT key — a plain INTEGER PRIMARY KEY gives the highest deleted
    id to the next row — and its sequence starts above the highest id that
    something kept still names (``_named_ids``), so that an id handed out and
    deleted before this step is not handed out again either. Each table is
    rebuilt by SQLite's 12-step procedure from its own DDL (whatever columns
    other steps gave it), its indexes and every trigger made again as they
    were; ``upgrade`` has turned foreign keys off, so dropping the old table
    fires no ON DELETE, and checks them once every step has run. PostgreSQL's
    sequences never go back: nothing to do there."""
    if not isinstance(database.obj, SqliteDatabase):
        return
    # A table a later step creates (notice, quotause, firstcomment) is not there yet: that step makes it
    # with AUTOINCREMENT.
    plain = [table for table in _NAMED_TABLES if database.table_exists(table)
             and "AUTOINCREMENT" not in _table_sql(table).upper()]
    if not plain:
        return
    if database.execute_sql("PRAGMA foreign_keys").fetchone()[0]:
        raise RuntimeError("rebuilding tables with foreign keys on would fire their ON DELETE: run the upgrade "
                           "outside a transaction (SQLite turns foreign keys off only there)")
    # A trigger that names a table being rebuilt stops the rename that ends its rebuild
    # (SQLite checks the whole schema then): all are put aside and made again exactly.
    triggers = database.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        database.execute_sql(f'DROP TRIGGER "{name}"')
    for table in plain:
        _rebuild_with_autoincrement(table)
    for _, sql in triggers:
        database.execute_sql(sql)
    named = _named_ids()
    for table in plain:
        if table not in named:
            continue
        seq = database.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        if seq is None:
            database.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, named[table]))
        elif seq[0] < named[table]:
            database.execute_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (named[table], table))


def _table_sql(table: str) -> str:
    return database.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (table,)).fetchone()[0]


def _rebuild_with_autoincrement(table: str) -> None:
    """Steps 4 to 8 of SQLite's procedure (https://sqlite.org/lang_altertable.html#otheralter):
    a new table from the old one's DDL with AUTOINCREMENT after its key, the rows
    copied (AUTOINCREMENT's sequence starts at the highest id copied), the old
    table dropped with its indexes, the new one renamed, the indexes made again."""
    create = _table_sql(table)
    key = next(c.name for c in database.get_columns(table) if c.primary_key)
    spare = f"{table}__rebuilt"
    create, headers = re.subn(rf'^CREATE TABLE "{re.escape(table)}"', f'CREATE TABLE "{spare}"', create)
    create, keys = re.subn(rf'"{re.escape(key)}" INTEGER NOT NULL PRIMARY KEY\b', r"\g<0> AUTOINCREMENT", create)
    if (headers, keys) != (1, 1):
        raise RuntimeError(f"table {table} is not as socialpub made it, not rebuilt: {_table_sql(table)}")
    indexes = [sql for (sql,) in database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,))]
    columns = ", ".join(f'"{c.name}"' for c in database.get_columns(table))
    database.execute_sql(create)
    database.execute_sql(f'INSERT INTO "{spare}" ({columns}) SELECT {columns} FROM "{table}"')
    database.execute_sql(f'DROP TABLE "{table}"')
    database.execute_sql(f'ALTER TABLE "{spare}" RENAME TO "{table}"')
    for sql in indexes:
        database.execute_sql(sql)


#: Where an id stays named once its row may be gone, besides the text scanned by
#: ``_named_ids``: (table, expression, source, condition). The audit trail keeps
#: every post, channel, user, invitation and endpoint it speaks of; webhook
#: events (the outbox) keep the posts, publications and channels their bodies
#: carry; a post keeps who submitted and approved it (plain integers).
_NAMED_COLUMNS = (
    ("post", "subject_id", "event", "subject = 'post'"),
    ("channel", "subject_id", "event", "subject = 'channel'"),
    ("user", "subject_id", "event", "subject = 'user'"),
    ("invitation", "subject_id", "event", "subject = 'invitation'"),
    ("webhookendpoint", "subject_id", "event", "subject = 'webhook'"),
    ("post", "json_extract(detail, '$.source')", "event", "subject = 'post'"),
    ("channel", "json_extract(detail, '$.channel')", "event", "subject = 'post'"),
    ("webhookdelivery", "json_extract(detail, '$.delivery')", "event", "subject = 'webhook'"),
    ("user", "submitted_by", "post", "1"),
    ("user", "approved_by", "post", "1"),
    ("post", "json_extract(payload, '$.data.id')", "outboxevent", "type LIKE 'post.%'"),
    ("publication", "json_extract(payload, '$.data.id')", "outboxevent", "type LIKE 'publication.%'"),
    ("channel", "json_extract(payload, '$.data.id')", "outboxevent", "type LIKE 'channel.%'"),
    ("post", "json_extract(payload, '$.data.post_id')", "outboxevent", "1"),
    ("channel", "json_extract(payload, '$.data.channel_id')", "outboxevent", "1"),
    ("publication", "json_extract(item.value, '$.id')",
     "outboxevent, json_each(outboxevent.payload, '$.data.publications') AS item", "1"),
    ("channel", "json_extract(item.value, '$.channel_id')",
     "outboxevent, json_each(outboxevent.payload, '$.data.publications') AS item", "1"),
)
#: Text that names an id right after a marker: (table, marker, source, column) — a
#: recipient row's id in Meta's callback data (whatsapp/ledger.CALLBACK_PREFIX), a
#: post's link in an e-mail.
_NAMED_IN_TEXT = (("recipient", "socialpub:recipient:", "metanotification", "body"),
                  ("post", "/posts/", "email", "body"))


def _named_ids() -> dict:
    """``{table: the highest of its ids named somewhere}``: in the columns of
    ``_NAMED_COLUMNS``, in Meta's notifications (a recipient row's id in
    ``biz_opaque_callback_data``) and in e-mails not sent yet (a post's link).
    What only lived outside the database (a queued message, a link someone
    kept) cannot be known here."""
    named = {}

    def note(table, found):
        if found:
            named[table] = max(named.get(table, 0), found)

    for table, expression, source, condition in _NAMED_COLUMNS:
        note(table, database.execute_sql(
            f"SELECT MAX(CAST({expression} AS INTEGER)) FROM {source} WHERE {condition}").fetchone()[0])
    # LIKE narrows the rows; a wildcard in the marker would only widen them.
    for table, marker, source, column in _NAMED_IN_TEXT:
        pattern = re.compile(re.escape(marker) + r"(\d+)")
        for (text,) in database.execute_sql(f"SELECT {column} FROM {source} WHERE {column} LIKE ?",
                                            (f"%{marker}%",)):
            note(table, max(map(int, pattern.findall(text)), default=0))
    return named


def _consent_evidence():
    """A WhatsApp contact's ``opt_in_evidence``: what proves the consent that
    lifted an opt-out, kept with the consent itself (the audit trail is pruned)."""
    _add_columns("contact", opt_in_evidence=TextField(null=True))


def _idempotency_leases():
    """An Idempotency-Key's holder and lease, and the post its request changed
    first (intake/idempotency.py). Keys left running before this step have no
    lease: a retry takes them over at once."""
    _add_columns("idempotencykey", owner=CharField(max_length=32, null=True), lease_until=DateTimeField(null=True),
                 changed_post=IntegerField(null=True))


def _media_digests_and_fetch_errors():
    """Each upload's SHA-256 as received (Media.received_sha256, indexed), and
    why a post's image_url could not be fetched (ImageFetch.error)."""
    _add_columns("media", received_sha256=CharField(max_length=64, null=True, index=True))
    _add_columns("imagefetch", error=TextField(null=True))


def _notices_and_split_posts():
    """The in-app notice list (Notice, notices.py) and a post's ``split_from``:
    the post an editor's channels that need approval wait in, while the
    others went out (lifecycle/review.split_off)."""

    class Notice(_Frozen):
        id = IdField()
        user = ForeignKeyField(_table("user"), backref="+", on_delete="CASCADE")
        kind = CharField(max_length=16)
        post = IntegerField(null=True)
        channel = IntegerField(null=True)
        text = TextField()
        created_at = DateTimeField(default=utcnow)
        read_at = DateTimeField(null=True)

        class Meta:
            table_name = "notice"
            indexes = ((("user", "read_at"), False),)

    database.create_tables([Notice], safe=True)
    # add_column makes the field's index too (index=True).
    _add_columns("post", split_from=IntegerField(null=True, index=True))


def _default_country():
    """A WhatsApp channel's ``default_country``: the country a contact's number
    written the national way is read in (whatsapp/contacts.normalised). A
    channel from before it has none until it is set, or guessed when the
    channel is saved again."""
    _add_columns("channel", default_country=CharField(max_length=2, null=True))


def _channel_versions():
    """A publication's own WhatsApp message (``publication.whatsapp``): two
    WhatsApp numbers of one post each send their own template to their own
    audience. Null — the post's message — for every publication from before it."""
    _add_columns("publication", whatsapp=JSONField(null=True))


def _channel_send_rate():
    """A WhatsApp channel's own ``send_rate`` (its number's throughput at Meta);
    null — WHATSAPP_SEND_RATE — for every channel from before it."""
    _add_columns("channel", send_rate=IntegerField(null=True))


def _media_video():
    """Videos in the media library: a Media row's ``video`` facts (null for every image)."""
    _add_columns("media", video=JSONField(null=True))


def _video_kind():
    """How a post's video goes to each channel (``publication.video_kind``: a Reel, a
    Story, a feed video); null for every publication from before it (none had a video)."""
    _add_columns("publication", video_kind=CharField(max_length=16, null=True))


def _renditions():
    """A video's renditions (media/renditions.py): the Media row it was made from
    (``rendition_of``; null for every upload, and once its source is deleted) and
    the kind of post it was made for (``rendition_for``: ``facebook/reel``), one
    per source and kind (a unique index, which the foreign key's lookups use too)."""
    have, media = {c.name for c in database.get_columns("media")}, _table("media")
    _add_columns("media", rendition_of_id=ForeignKeyField(media, field=media.id, null=True, backref="+",
                                                          on_delete="SET NULL", index=False),
                 rendition_for=CharField(max_length=40, null=True))
    if "rendition_for" not in have:
        migrate(SchemaMigrator.from_database(database.obj).add_index("media", ("rendition_of_id", "rendition_for"),
                                                                     True))


def _media_document():
    """Documents in the media library: a Media row's ``document`` facts (pages, title, its
    first page's key); null for every photo and video."""
    _add_columns("media", document=JSONField(null=True))


def _pacing():
    """A channel's spacing and quotas (lifecycle/pacing.py): its own gap and most per
    hour (null: the settings'), the network's last reading of a quota, and the ledger
    of the places publications hold in them (``quotause``)."""
    _add_columns("channel", min_gap_s=IntegerField(null=True), max_per_hour=IntegerField(null=True),
                 quota_readings=JSONField(null=True))
    channels = _table("channel")

    class QuotaUse(_Frozen):
        id = IdField()
        channel = ForeignKeyField(channels, field=channels.id, backref="+", on_delete="CASCADE", index=False)
        quota = CharField(max_length=24)
        publication = IntegerField(index=True)
        at = DateTimeField()

        class Meta:
            table_name = "quotause"
            indexes = ((("channel", "quota", "at"), False),)

    database.create_tables([QuotaUse], safe=True)


def _first_comments():
    """First comments (lifecycle/first_comments.py): one outbox row per publication
    that has one; none for any publication from before it."""
    publications = _table("publication")

    class FirstComment(_Frozen):
        id = IdField()
        publication = ForeignKeyField(publications, field=publications.id, backref="+", on_delete="CASCADE",
                                      unique=True)
        text = TextField()
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(null=True)
        touched_at = DateTimeField()
        last_error = TextField(null=True)
        external_id = CharField(max_length=200, null=True)
        posted_at = DateTimeField(null=True)

        class Meta:
            table_name = "firstcomment"
            indexes = ((("status", "next_attempt_at"), False),)

    database.create_tables([FirstComment], safe=True)


def _confirmed_at():
    """When a published item was read back from its network (``publication.confirmed_at``); null for every
    publication from before it, which was never read back."""
    _add_columns("publication", confirmed_at=DateTimeField(null=True))


def _recurrence():
    """Recurring posts (lifecycle/recurrence.py): a post's ``recurrence``, the first post of its
    series (``series_of``) and the occurrence made after it (``next_in_series``); null for every
    post from before it, none of which repeats."""
    _add_columns("post", recurrence=JSONField(null=True), series_of=IntegerField(null=True),
                 next_in_series=IntegerField(null=True))


def _analytics():
    """How published items did (analytics/collection.py): each item's latest numbers and next read, the
    readings kept, each account's numbers by day, and when a channel's account is read next. Items
    published before it are not read (none has a row); every channel's account is read at once."""
    channels, publications = _table("channel"), _table("publication")

    class Numbers(_Frozen):
        views = IntegerField(null=True)
        reach = IntegerField(null=True)
        reactions = IntegerField(null=True)
        comments = IntegerField(null=True)
        shares = IntegerField(null=True)
        saves = IntegerField(null=True)
        clicks = IntegerField(null=True)
        watch_time_ms = IntegerField(null=True)

    class PostMetrics(Numbers):
        publication = ForeignKeyField(publications, field=publications.id, primary_key=True, backref="+",
                                      on_delete="CASCADE")
        channel = ForeignKeyField(channels, field=channels.id, backref="+", on_delete="CASCADE", index=False)
        network = CharField(max_length=16)
        published_at = DateTimeField()
        read_at = DateTimeField(null=True)
        next_read_at = DateTimeField(null=True, index=True)
        reads = IntegerField(default=0)
        note = TextField(null=True)

        class Meta:
            table_name = "postmetrics"
            indexes = ((("channel", "published_at"), False), (("published_at",), False))

    class MetricReading(Numbers):
        id = IdField()
        publication = ForeignKeyField(publications, field=publications.id, backref="+", on_delete="CASCADE",
                                      index=False)
        taken_at = DateTimeField()

        class Meta:
            table_name = "metricreading"
            indexes = ((("publication", "taken_at"), False), (("taken_at",), False))

    class ChannelMetrics(_Frozen):
        channel = ForeignKeyField(channels, field=channels.id, backref="+", on_delete="CASCADE")
        day = DateField()
        followers = IntegerField(null=True)
        reach = IntegerField(null=True)
        views = IntegerField(null=True)
        taken_at = DateTimeField()

        class Meta:
            table_name = "channelmetrics"
            primary_key = CompositeKey("channel", "day")

    database.create_tables([PostMetrics, MetricReading, ChannelMetrics], safe=True)
    _add_columns("channel", metrics_due_at=DateTimeField(null=True))


def _review_links():
    """Review links (reviewing/): links to posts for someone without an account, the posts each shows with
    what they said then, and the reviewers' decisions; none before it."""
    posts = _table("post")

    class ReviewLink(_Frozen):
        id = IdField()
        digest = CharField(max_length=64, unique=True)
        label = CharField(max_length=200)
        created_by = IntegerField(null=True)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        revoked_at = DateTimeField(null=True)

        class Meta:
            table_name = "reviewlink"

    class ReviewLinkPost(_Frozen):
        id = IdField()
        link = ForeignKeyField(ReviewLink, backref="+", on_delete="CASCADE")
        post = ForeignKeyField(posts, field=posts.id, backref="+", on_delete="CASCADE")
        content = CharField(max_length=64)

        class Meta:
            table_name = "reviewlinkpost"
            indexes = ((("link", "post"), True),)

    class ReviewDecision(_Frozen):
        id = IdField()
        link = ForeignKeyField(ReviewLink, backref="+", on_delete="CASCADE")
        post = ForeignKeyField(posts, field=posts.id, backref="+", on_delete="CASCADE")
        reviewer = CharField(max_length=100)
        decision = CharField(max_length=16)
        comment = TextField(null=True)
        content = CharField(max_length=64)
        decided_at = DateTimeField()

        class Meta:
            table_name = "reviewdecision"
            indexes = ((("post", "decided_at"), False), (("link", "post"), False))

    database.create_tables([ReviewLink, ReviewLinkPost, ReviewDecision], safe=True)


def _short_links():
    """Links that count (campaigns/links.py): each post's short link per channel with its clicks, and how a
    post's link is published (``post.link_tracking``); null for every post before it, whose link goes as typed."""
    posts = _table("post")

    class ShortLink(_Frozen):
        id = IdField()
        code = CharField(max_length=16, unique=True)
        post = ForeignKeyField(posts, field=posts.id, backref="+", on_delete="CASCADE")
        channel_id = IntegerField()
        network = CharField(max_length=16)
        target = TextField()
        clicks = IntegerField(default=0)
        created_at = DateTimeField()

        class Meta:
            table_name = "shortlink"
            indexes = ((("post", "channel_id"), True),)

    database.create_tables([ShortLink], safe=True)
    _add_columns("post", link_tracking=JSONField(null=True))


def _snippets():
    """Snippets and hashtag groups (campaigns/snippets.py): texts the compose form inserts; none before it."""

    class Snippet(_Frozen):
        id = IdField()
        name = CharField(max_length=60)
        shortcut = CharField(max_length=30, unique=True)
        kind = CharField(max_length=16, default="text")
        body = TextField()
        variants = JSONField(default=dict)
        created_by = IntegerField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            table_name = "snippet"

    database.create_tables([Snippet], safe=True)


#: Step n brings the schema from version n-1 to n.
STEPS = [_create_tables, _delivery_state, _scheduling, _accounts, _encrypted_tokens, _long_external_ids,
         _session_versions, _held_items_index,
         _idempotency_keys, _connected_tokens, _connection_details, _media,
         _calendar_index, _queues, _image_fetches, _roles, _team, _approval, _webhooks, _email,
         _whatsapp, _retention, _tally, _text_search, _recent, _business_scoped_ids, _ids_never_reused,
         _consent_evidence, _idempotency_leases, _media_digests_and_fetch_errors,
         _notices_and_split_posts, _default_country, _channel_versions, _channel_send_rate, _media_video,
         _video_kind, _renditions, _media_document, _pacing, _first_comments, _confirmed_at, _recurrence,
         _analytics, _review_links, _short_links, _snippets]
