"""Creates and upgrades the tables: numbered steps, each applied once.

A new step is appended to ``STEPS`` (use ``playhouse.migrate`` for changes to
existing tables); ``upgrade`` runs the ones the database has not seen yet.
A step that rebuilds a SQLite table must carry its ``sqlite_sequence`` row
over: copying the rows starts the sequence at the highest id left, and the
ids of deleted rows above it would be handed out again.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from peewee import CharField, PeeweeException, SqliteDatabase
from playhouse.migrate import SchemaMigrator, migrate

from .db import bind, database
from .encryption import encrypt_plaintext
from .models import (
    HELD_ITEMS_INDEX,
    TABLES,
    UNSUCCESSFUL_INDEX,
    ApiToken,
    Attempt,
    AttemptDelta,
    Audience,
    AudienceMember,
    Channel,
    Contact,
    Email,
    Event,
    IdempotencyKey,
    IdField,
    ImageFetch,
    Invitation,
    Media,
    MetaNotification,
    Notice,
    OutboxEvent,
    Post,
    PostMedia,
    Publication,
    PublicationDelta,
    PublicationTally,
    RecentAttempts,
    RecentOutcome,
    Recipient,
    SchemaVersion,
    Template,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)


def _create_tables():
    database.create_tables(TABLES)


def _delivery_state():
    """Channel state and Instagram containers (delivery guarantees)."""
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("channel")}
    steps = [migrator.add_column("channel", f.column_name, f)
             for f in (Channel.state, Channel.state_reason, Channel.last_published_at)
             if f.column_name not in have]
    have = {c.name for c in database.get_columns("publication")}
    steps += [migrator.add_column("publication", f.column_name, f)
              for f in (Publication.container_id, Publication.ambiguous_since, Publication.retries,
                        Publication.rate_limit_waits)
              if f.column_name not in have]
    migrate(*steps)


def _scheduling():
    """Scheduled posts."""
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("post")}
    steps = [migrator.add_column("post", f.column_name, f)
             for f in (Post.scheduled_at, Post.schedule_zone) if f.column_name not in have]
    if "scheduled_at" not in have:
        steps.append(migrator.add_index("post", ("scheduled_at",)))
    migrate(*steps)


def _accounts():
    """Users and API tokens."""
    database.create_tables([User, ApiToken], safe=True)


def _encrypted_tokens():
    """Channel tokens encrypted at rest. The column is TEXT already, which
    holds the longer Fernet text."""

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
    if "session_version" not in {c.name for c in database.get_columns("user")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("user", "session_version",
                                                                      User.session_version))


def _held_items_index():
    """Who holds a network's item, looked up before adopting one (delivery.held_elsewhere)."""
    database.execute(HELD_ITEMS_INDEX)


def _idempotency_keys():
    """Requests made with an Idempotency-Key, and their answers."""
    database.create_tables([IdempotencyKey], safe=True)


def _connected_tokens():
    """What an OAuth connection learns of its token (Channel.token_expires_at, …)."""
    have = {c.name for c in database.get_columns("channel")}
    migrator = SchemaMigrator.from_database(database.obj)
    migrate(*[migrator.add_column("channel", f.column_name, f)
              for f in (Channel.token_expires_at, Channel.scopes, Channel.refresh_token,
                        Channel.refresh_token_expires_at, Channel.token_refreshing_since, Channel.picture_url)
              if f.column_name not in have])


def _connection_details():
    """Which app's OAuth flow a channel came through, and what the network says of the account."""
    have = {c.name for c in database.get_columns("channel")}
    migrator = SchemaMigrator.from_database(database.obj)
    migrate(*[migrator.add_column("channel", f.column_name, f) for f in (Channel.connected_via, Channel.detail)
              if f.column_name not in have])


def _media():
    """Uploaded media, the posts' images (Media, PostMedia), and each publication's
    checkpointed uploads (Publication.uploads)."""
    database.create_tables([Media, PostMedia], safe=True)
    if "uploads" not in {c.name for c in database.get_columns("publication")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("publication", "uploads",
                                                                        Publication.uploads))


def _calendar_index():
    """The calendar's window of posts published without a schedule (Post.publish_requested_at)."""
    database.execute_sql("CREATE INDEX IF NOT EXISTS post_publish_requested_at ON post (publish_requested_at)")


def _queues():
    """Each channel's posting times (Channel.queue)."""
    if "queue" not in {c.name for c in database.get_columns("channel")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("channel", "queue", Channel.queue))


def _image_fetches():
    """Each post's image_url as fetched into the media library (ImageFetch)."""
    database.create_tables([ImageFetch], safe=True)


def _roles():
    """Each user's role (User.role): everyone who could sign in before could do
    everything, so they become admins."""
    if "role" not in {c.name for c in database.get_columns("user")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column(
            "user", "role", CharField(max_length=16, default="admin")))


def _team():
    """Invitations and the audit trail (Invitation, Event)."""
    database.create_tables([Invitation, Event], safe=True)


def _approval():
    """Approval: the channels that need it, and each post's request and answer."""
    columns = {c.name for c in database.get_columns("post")}
    steps = [SchemaMigrator.from_database(database.obj).add_column("post", name, getattr(Post, name))
             for name in ("approval_asked", "submitted_by", "approved_by", "approved_at", "review_comment")
             if name not in columns]
    if "requires_approval" not in {c.name for c in database.get_columns("channel")}:
        steps.append(SchemaMigrator.from_database(database.obj).add_column(
            "channel", "requires_approval", Channel.requires_approval))
    if steps:
        migrate(*steps)


def _webhooks():
    """Outcome webhooks: the endpoints, the outbox, each delivery and its tries."""
    database.create_tables([WebhookEndpoint, OutboxEvent, WebhookDelivery, WebhookAttempt], safe=True)
    if "expiry_warned_for" not in {c.name for c in database.get_columns("channel")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column(
            "channel", "expiry_warned_for", Channel.expiry_warned_for))


def _email():
    """E-mails (Email) and each user's choice of what to be told (User.notifications)."""
    database.create_tables([Email], safe=True)
    if "notifications" not in {c.name for c in database.get_columns("user")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("user", "notifications", User.notifications))


def _whatsapp():
    """WhatsApp as Meta allows it: contacts and their consent, audiences,
    templates, each publication's recipients, Meta's notifications; every
    channel's recipients become opted-in contacts (they were given as such)."""
    from .whatsapp.contacts import adopt_channel_recipients

    database.create_tables([Contact, Audience, AudienceMember, Template, Recipient, MetaNotification], safe=True)
    steps = []
    if "business_account_id" not in {c.name for c in database.get_columns("channel")}:
        steps.append(SchemaMigrator.from_database(database.obj).add_column(
            "channel", "business_account_id", Channel.business_account_id))
    if "whatsapp" not in {c.name for c in database.get_columns("post")}:
        steps.append(SchemaMigrator.from_database(database.obj).add_column("post", "whatsapp", Post.whatsapp))
    if steps:
        migrate(*steps)
    for channel in Channel.select().where(Channel.network == "whatsapp"):
        adopt_channel_recipients(channel, by="socialpub (the channel's recipient list)")


def _retention():
    """Indexes on the times retention (retention.py) prunes by."""
    for model, fields in ((Attempt, (Attempt.finished_at,)), (Event, (Event.at,)),
                          (WebhookDelivery, (WebhookDelivery.status, WebhookDelivery.touched_at)),
                          (Email, (Email.status, Email.touched_at))):
        name = "_".join([model._meta.table_name, *(f.column_name for f in fields)])
        database.execute(model.index(*fields, name=name).safe(True))


def _tally():
    """Publication counts kept by triggers (metrics/tally.py), started from one
    count of the table; the indexes the monitor's recent reads use."""
    from .metrics import tally

    database.create_tables([PublicationTally, PublicationDelta], safe=True)
    tally.install(database)
    database.execute(Publication.index(Publication.finished_at, name="publication_finished_at").safe(True))
    database.execute(UNSUCCESSFUL_INDEX)


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

    have = {c.name for c in database.get_columns("publicationdelta")}
    if "finished_at" not in have:
        migrator = SchemaMigrator.from_database(database.obj)
        migrate(migrator.add_column("publicationdelta", "finished_at", PublicationDelta.finished_at))
    database.create_tables([AttemptDelta, RecentOutcome, RecentAttempts], safe=True)
    tally.install(database)
    recent.install(database)


def _business_scoped_ids():
    """WhatsApp people known by Meta's business-scoped user id (BSUID): a
    contact's and a recipient's ``user_id`` (unique per channel, per
    publication), the contact's username, and a number no longer required —
    a person whose username hides it is known by the BSUID alone."""
    migrator = SchemaMigrator.from_database(database.obj)
    for model, fields in ((Contact, (Contact.user_id, Contact.username)), (Recipient, (Recipient.user_id,))):
        table = model._meta.table_name
        have = {c.name: c for c in database.get_columns(table)}
        missing = [migrator.add_column(table, f.column_name, f) for f in fields if f.column_name not in have]
        if missing:
            migrate(*missing)
        if not have["phone"].null:
            _drop_not_null(migrator, table, "phone", "VARCHAR(20)")
    database.create_tables([Contact, Recipient], safe=True)  # the tables are there: their new indexes


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
    # A table a later step creates (Notice) is not there yet: that step makes it with AUTOINCREMENT.
    plain = [model._meta.table_name for model in TABLES if isinstance(model._meta.primary_key, IdField)
             and database.table_exists(model._meta.table_name)
             and "AUTOINCREMENT" not in _table_sql(model._meta.table_name).upper()]
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


def _named_ids() -> dict:
    """``{table: the highest of its ids named somewhere}``: in the columns of
    ``_NAMED_COLUMNS``, in Meta's notifications (a recipient row's id in
    ``biz_opaque_callback_data``) and in e-mails not sent yet (a post's link).
    What only lived outside the database (a queued message, a link someone
    kept) cannot be known here."""
    from .whatsapp.ledger import CALLBACK_PREFIX

    named = {}

    def note(table, found):
        if found:
            named[table] = max(named.get(table, 0), found)

    for table, expression, source, condition in _NAMED_COLUMNS:
        note(table, database.execute_sql(
            f"SELECT MAX(CAST({expression} AS INTEGER)) FROM {source} WHERE {condition}").fetchone()[0])
    # Text that names an id right after a marker (LIKE narrows the rows; a wildcard in it would only widen them).
    for table, marker, source, column in (("recipient", CALLBACK_PREFIX, "metanotification", "body"),
                                          ("post", "/posts/", "email", "body")):
        pattern = re.compile(re.escape(marker) + r"(\d+)")
        for (text,) in database.execute_sql(f"SELECT {column} FROM {source} WHERE {column} LIKE ?",
                                            (f"%{marker}%",)):
            note(table, max(map(int, pattern.findall(text)), default=0))
    return named


def _media_digests_and_fetch_errors():
    """Each upload's SHA-256 as received (Media.received_sha256, indexed), and
    why a post's image_url could not be fetched (ImageFetch.error)."""
    migrator = SchemaMigrator.from_database(database.obj)
    steps = []
    if "received_sha256" not in {c.name for c in database.get_columns("media")}:
        steps.append(migrator.add_column("media", "received_sha256", Media.received_sha256))
    if "error" not in {c.name for c in database.get_columns("imagefetch")}:
        steps.append(migrator.add_column("imagefetch", "error", ImageFetch.error))
    if steps:
        migrate(*steps)


def _idempotency_leases():
    """An Idempotency-Key's holder and lease, and the post its request changed
    first (intake/idempotency.py). Keys left running before this step have no
    lease: a retry takes them over at once."""
    have = {c.name for c in database.get_columns("idempotencykey")}
    migrator = SchemaMigrator.from_database(database.obj)
    missing = [migrator.add_column("idempotencykey", f.column_name, f)
               for f in (IdempotencyKey.owner, IdempotencyKey.lease_until, IdempotencyKey.changed_post)
               if f.column_name not in have]
    if missing:
        migrate(*missing)


def _consent_evidence():
    """A WhatsApp contact's ``opt_in_evidence``: what proves the consent that
    lifted an opt-out, kept with the consent itself (the audit trail is pruned)."""
    if "opt_in_evidence" not in {c.name for c in database.get_columns("contact")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("contact", "opt_in_evidence",
                                                                      Contact.opt_in_evidence))


def _notices_and_split_posts():
    """The in-app notice list (Notice, notices.py) and a post's ``split_from``:
    the post an editor's channels that need approval wait in, while the
    others went out (lifecycle/review.split_off)."""
    database.create_tables([Notice], safe=True)
    if "split_from" not in {c.name for c in database.get_columns("post")}:
        # add_column makes the field's index too (Post.split_from is indexed).
        migrate(SchemaMigrator.from_database(database.obj).add_column("post", "split_from", Post.split_from))


def _default_country():
    """A WhatsApp channel's ``default_country``: the country a contact's number
    written the national way is read in (whatsapp/contacts.normalised). A
    channel from before it has none until it is set, or guessed when the
    channel is saved again."""
    if "default_country" not in {c.name for c in database.get_columns("channel")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("channel", "default_country",
                                                                      Channel.default_country))


def _channel_versions():
    """A publication's own WhatsApp message (``publication.whatsapp``): two
    WhatsApp numbers of one post each send their own template to their own
    audience. Null — the post's message — for every publication from before it."""
    if "whatsapp" not in {c.name for c in database.get_columns("publication")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("publication", "whatsapp",
                                                                      Publication.whatsapp))


def _channel_send_rate():
    """A WhatsApp channel's own ``send_rate`` (its number's throughput at Meta);
    null — WHATSAPP_SEND_RATE — for every channel from before it."""
    if "send_rate" not in {c.name for c in database.get_columns("channel")}:
        migrate(SchemaMigrator.from_database(database.obj).add_column("channel", "send_rate", Channel.send_rate))


#: Step n brings the schema from version n-1 to n. Step 1 creates the tables
#: as the models are now, so later steps skip columns that already exist.
STEPS = [_create_tables, _delivery_state, _scheduling, _accounts, _encrypted_tokens, _long_external_ids,
         _session_versions, _held_items_index,
         _idempotency_keys, _connected_tokens, _connection_details, _media,
         _calendar_index, _queues, _image_fetches, _roles, _team, _approval, _webhooks, _email,
         _whatsapp, _retention, _tally, _text_search, _recent, _business_scoped_ids, _ids_never_reused,
         _consent_evidence, _idempotency_leases, _media_digests_and_fetch_errors,
         _notices_and_split_posts, _default_country, _channel_versions, _channel_send_rate]


def open_existing(settings):
    """Bind the database of ``settings`` for a command that needs its tables.

    Raises:
      SystemExit: one line naming the database and what to do, when it does
        not exist or has no tables — without creating a file or a folder.
    """
    fix = ("run `socialpub up` (or `socialpub db upgrade`) in the folder that holds instance/, or set "
           "SOCIALPUB_INSTANCE or SOCIALPUB_DATABASE_URL to yours")
    if settings.is_sqlite:
        path = Path(settings.database_url[len("sqlite:///"):])
        if not path.is_file():
            raise SystemExit(f"socialpub: no database at {path.resolve()}: {fix}")
    bound = bind(settings.database_url)
    try:
        with bound.connection_context():
            version = current_version()
    except PeeweeException as exc:
        raise SystemExit(f"socialpub: the database at {_shown(settings.database_url)} does not answer "
                         f"({str(exc).strip().splitlines()[0]})") from None
    if version == 0:
        raise SystemExit(f"socialpub: the database at {_shown(settings.database_url)} has no tables: {fix}")
    return bound


def _shown(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def current_version() -> int:
    if not database.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def upgrade() -> tuple[int, int]:
    """Apply the missing steps, all in one transaction; return (version before,
    version after). On SQLite, foreign keys are off while steps run — a step
    may rebuild a table (SQLite's way to change one), and dropping the old
    table would fire its children's ON DELETE — and checked before the commit:
    an upgrade that would leave a reference broken is rolled back."""
    if not isinstance(database.obj, SqliteDatabase) or current_version() == len(STEPS):
        return _apply_steps(check_foreign_keys=False)
    was = database.execute_sql("PRAGMA foreign_keys").fetchone()[0]
    database.execute_sql("PRAGMA foreign_keys = OFF")  # outside the transaction: SQLite ignores it inside one
    try:
        return _apply_steps(check_foreign_keys=True)
    finally:
        database.execute_sql(f"PRAGMA foreign_keys = {was}")


def _apply_steps(check_foreign_keys: bool) -> tuple[int, int]:
    with database.atomic():
        database.create_tables([SchemaVersion])
        before = current_version()
        broken = _broken_references() if check_foreign_keys else set()
        for number, step in enumerate(STEPS[before:], start=before + 1):
            logger.info("Applying schema step %d (%s).", number, step.__name__)
            step()
            SchemaVersion.create(version=number)
        if check_foreign_keys and (_broken_references() - broken):
            raise RuntimeError(f"the schema upgrade would break references (table, row, parent, key): "
                               f"{sorted(_broken_references() - broken)[:10]}; nothing was changed")
    return before, len(STEPS)


def _broken_references() -> set:
    """SQLite's rows whose foreign key names no row; compared before and after the
    steps, so that one broken before the upgrade does not stop it."""
    return set(database.execute_sql("PRAGMA foreign_key_check").fetchall())
