"""The tables: Channel (a connected account), Post, Publication (one per post
and channel) and Attempt (one row per call made to a network).

Statuses are plain strings so that SQL stays readable; every change of status
is a conditional UPDATE (publishing.py asks, delivery.py records).
"""
from __future__ import annotations

import datetime as dt
import json

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    NodeList,
    SqliteDatabase,
    TextField,
)

from .db import database
from .encryption import EncryptedTextField
from .statuses import PostStatus, PublicationStatus  # noqa: F401 (re-exported: the rows' statuses)


def utcnow() -> dt.datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset, for the API."""
    return None if value is None else value.replace(tzinfo=dt.timezone.utc).isoformat()


class BaseModel(Model):
    class Meta:
        database = database


class IdField(AutoField):
    """An id handed out once, never again after its row is deleted: pages,
    links, API clients, webhook consumers, Meta's callbacks and queued messages
    name rows by it. SQLite's plain INTEGER PRIMARY KEY gives the highest
    deleted id to the next row; AUTOINCREMENT does not (its ``sqlite_sequence``
    remembers). PostgreSQL's SERIAL sequences never go back, and know no such
    keyword — which is why this is not playhouse's AutoIncrementField, whose
    DDL fails there."""

    def ddl(self, ctx):
        column = super().ddl(ctx)
        database = self.model._meta.database
        if isinstance(database, DatabaseProxy):
            database = database.obj
        return NodeList((column, SQL("AUTOINCREMENT"))) if isinstance(database, SqliteDatabase) else column


class JSONField(TextField):
    def db_value(self, value):
        return None if value is None else json.dumps(value)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class ChannelState:
    ACTIVE = "active"
    #: The network refused the token: publications fail fast until the channel is updated.
    NEEDS_REAUTH = "needs_reauth"
    ALL = (ACTIVE, NEEDS_REAUTH)


class Channel(BaseModel):
    id = IdField()
    network = CharField(max_length=16, index=True)
    name = CharField(max_length=100)
    #: Page id, IG user id, author URN or phone-number id, by network.
    account_id = CharField(max_length=200)
    #: Encrypted at rest (see encryption.py); write-only in the API and pages.
    token = EncryptedTextField()
    #: API root, e.g. https://graph.facebook.com/v24.0 (or the sandbox's).
    base_url = CharField(max_length=300)
    #: WhatsApp: the numbers given when the channel was added; each is also a
    #: contact (whatsapp/contacts.py), which is what messages go to.
    recipients = JSONField(default=list)
    #: WhatsApp: the business account (WABA) whose templates the number sends.
    business_account_id = CharField(max_length=64, null=True)
    #: WhatsApp: the country (ISO 3166, such as FR) a contact's number written the national
    #: way (06 12 34 56 78) is read in; guessed from the channel's own number.
    default_country = CharField(max_length=2, null=True)
    #: LinkedIn-Version header, for LinkedIn channels.
    api_version = CharField(max_length=16, null=True)
    enabled = BooleanField(default=True)
    #: An editor's post to this channel waits for an admin's approval (lifecycle/review.py).
    requires_approval = BooleanField(default=False)
    state = CharField(max_length=16, default=ChannelState.ACTIVE)
    #: Why the channel is not active, in the network's words.
    state_reason = TextField(null=True)
    last_published_at = DateTimeField(null=True)
    #: What the network said of the token when it was connected through its
    #: OAuth flow (NULL for pasted tokens): when it expires, the scopes granted,
    #: and the refresh token — encrypted like the token, never shown.
    token_expires_at = DateTimeField(null=True)
    scopes = TextField(null=True)
    refresh_token = EncryptedTextField(null=True)
    refresh_token_expires_at = DateTimeField(null=True)
    #: Set while a scheduler refreshes the token (connecting/refresh.py): the claim.
    token_refreshing_since = DateTimeField(null=True)
    #: The expiry a "channel.expires_soon" event was sent for (once per token).
    expiry_warned_for = DateTimeField(null=True)
    #: The account's picture, as the network gives it.
    picture_url = TextField(null=True)
    #: The app whose OAuth flow granted the token: "facebook" (Facebook Login),
    #: "instagram" (Instagram Login), "linkedin"; NULL for a pasted token. It
    #: says how to reconnect and refresh the channel and which app secret signs
    #: its Graph calls.
    connected_via = CharField(max_length=16, null=True)
    #: What the network says of the account beside its name (an @username, a
    #: WhatsApp number's quality rating, the Page an Instagram account is linked to).
    detail = TextField(null=True)
    #: Its posting times ("Add to queue" takes the next free one):
    #: {"zone": IANA name, "slots": [{"weekday": "mon", "time": "09:00"}, …]}; NULL: none.
    queue = JSONField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    @property
    def token_set(self) -> bool:
        """Whether a token is stored, known without decrypting it."""
        return bool(self.__data__.get("token"))


class Post(BaseModel):
    id = IdField()
    text = TextField()
    image_url = TextField(null=True)
    link = TextField(null=True)
    status = CharField(max_length=24, default=PostStatus.DRAFT, index=True)
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    #: When to publish (UTC), and the zone it was given in (IANA name or ±HH:MM),
    #: to show it back the way the user wrote it.
    scheduled_at = DateTimeField(null=True, index=True)
    schedule_zone = CharField(max_length=64, null=True)
    #: When publishing was asked for, and when the last network finished.
    publish_requested_at = DateTimeField(null=True, index=True)
    finished_at = DateTimeField(null=True)
    #: Approval (lifecycle/review.py, approval.py): what an editor asked for
    #: ("publish" or "schedule") while the post awaits approval; who asked; who
    #: approved it and when (cleared by an edit, which asks again); the
    #: approver's comment when they rejected it.
    approval_asked = CharField(max_length=16, null=True)
    submitted_by = IntegerField(null=True)
    approved_by = IntegerField(null=True)
    approved_at = DateTimeField(null=True)
    review_comment = TextField(null=True)
    #: The post whose channels that need approval this one carries, waiting for it,
    #: while that post's other channels went out (review.split_off); ids are never
    #: reused, so the link stays true after that post is deleted.
    split_from = IntegerField(null=True, index=True)
    #: The WhatsApp message (whatsapp/templates.py): {"template": name, "language": code,
    #: "body": [the body's parameters, in order], "audience": an audience's name or null (every
    #: opted-in contact)}; NULL: a free-form message, to those whose 24-hour window is open.
    whatsapp = JSONField(null=True)


class Publication(BaseModel):
    id = IdField()
    post = ForeignKeyField(Post, backref="publications", on_delete="CASCADE")
    channel = ForeignKeyField(Channel, backref="publications")
    network = CharField(max_length=16)
    #: The text as sent to this channel (the post's text, its network's override, or the channel's version).
    text = TextField()
    #: A WhatsApp channel's own message (template, language, body, audience: whatsapp/templates.check) when
    #: it differs from the post's (Post.whatsapp, the default of every WhatsApp channel without its own).
    whatsapp = JSONField(null=True)
    status = CharField(max_length=16, default=PublicationStatus.PENDING, index=True)
    attempts = IntegerField(default=0)
    #: Retries spent on transient errors, and waits on rate limits, since the
    #: last publish or manual retry: two budgets, so throttling does not use up
    #: the retries meant for outages.
    retries = IntegerField(default=0)
    rate_limit_waits = IntegerField(default=0)
    #: The Dramatiq message id of the latest enqueue.
    task_id = CharField(max_length=64, null=True)
    #: The network's id for the item; WhatsApp: the accepted messages' ids, comma-separated (past 100, none:
    #: each recipient's is in the Recipient table).
    external_id = TextField(null=True)
    external_url = TextField(null=True)
    #: Instagram: the media container, kept so a lost answer can be checked, not re-posted.
    container_id = CharField(max_length=64, null=True)
    #: What an attempt already uploaded, checkpointed before the post is made and
    #: reused by the next attempt: {"photo_ids": [...]} (Facebook, unpublished),
    #: {"children": [...]} (Instagram carousel items), {"image_urns": [...]}
    #: (LinkedIn), {"media_id": ...} (WhatsApp).
    uploads = JSONField(null=True)
    #: Start of an attempt whose outcome we never saw (timeout after sending, a
    #: worker that died): before sending again, ask the network whether it arrived.
    ambiguous_since = DateTimeField(null=True)
    last_error = TextField(null=True)
    last_error_code = CharField(max_length=32, null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    enqueued_at = DateTimeField(null=True)
    started_at = DateTimeField(null=True)
    next_attempt_at = DateTimeField(null=True)
    published_at = DateTimeField(null=True)
    #: Indexed: the monitor reads the last hour's and day's outcomes by it.
    finished_at = DateTimeField(null=True, index=True)

    class Meta:
        indexes = ((("post", "channel"), True),)


#: Finds who holds a network's item (delivery.held_elsewhere). Partial: WhatsApp's
#: external_id, one id per recipient, can be longer than an index entry may be.
HELD_ITEMS_INDEX = (Publication.index(Publication.network, Publication.external_id,
                                      where=(Publication.network != "whatsapp"))
                    .safe(True))
Publication.add_index(HELD_ITEMS_INDEX)
#: The monitor's latest failures, newest first, without sorting every failure of history.
UNSUCCESSFUL = (PublicationStatus.FAILED, PublicationStatus.PARTLY_FAILED, PublicationStatus.EXPIRED,
                PublicationStatus.UNCONFIRMED, PublicationStatus.RETRYING)
UNSUCCESSFUL_INDEX = (Publication.index(Publication.updated_at, where=Publication.status.in_(list(UNSUCCESSFUL)))
                      .safe(True))
Publication.add_index(UNSUCCESSFUL_INDEX)


class Attempt(BaseModel):
    id = IdField()
    publication = ForeignKeyField(Publication, backref="attempt_rows", on_delete="CASCADE")
    number = IntegerField()
    started_at = DateTimeField()
    #: Indexed for retention (retention.py) and the monitor's recent attempts.
    finished_at = DateTimeField(index=True)
    #: published | adopted (an earlier attempt had published it) | retrying |
    #: failed | expired | unconfirmed | superseded (answered after losing its
    #: claim to a later attempt; not applied)
    outcome = CharField(max_length=16)
    error_code = CharField(max_length=32, null=True)
    error = TextField(null=True)

    class Meta:
        indexes = ((("publication", "number"), False),)


class User(BaseModel):
    """A person who may sign in. Everyone signed in shares the same channels and
    posts; their role (people/roles.py) says what they may do with them."""

    id = IdField()
    #: Lower-cased; the sign-in name.
    email = CharField(max_length=254, unique=True)
    #: viewer, editor or admin; users from before roles existed are admins (schema step 16).
    role = CharField(max_length=16, default="viewer")
    #: Werkzeug's scrypt hash; empty means no password sign-in (API tokens only).
    password_hash = CharField(max_length=255, default="")
    #: A disabled user can neither sign in nor use their tokens.
    disabled = BooleanField(default=False)
    #: Every session cookie carries the version it was issued under; signing
    #: out or changing the password moves it on, which ends all of them.
    session_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    last_sign_in_at = DateTimeField(null=True)
    #: What to be told by e-mail (mail/notices.py): {"posts": …, "channels": …},
    #: each "immediately", "digest" or "off"; None: the defaults of the role.
    notifications = JSONField(null=True)


class Notice(BaseModel):
    """One line of a user's in-app notice list (notices.py): written in the
    transaction of what it tells, read or not. ``post`` / ``channel`` name what
    it is about (kept as plain ids: a deleted post's notice says it is gone)."""

    id = IdField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    #: "approval", "rejected", "failed", "partly_failed" or "reconnect".
    kind = CharField(max_length=16)
    post = IntegerField(null=True)
    channel = IntegerField(null=True)
    text = TextField()
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at"), False),)


class ApiToken(BaseModel):
    """A bearer token for the JSON API. Only its SHA-256 is kept: it is shown once."""

    id = IdField()
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = CharField(max_length=100)
    #: The token's first characters, so people can tell their tokens apart.
    prefix = CharField(max_length=16)
    digest = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class Invitation(BaseModel):
    """A single-use link that lets a person set their password (people/team.py):
    an invitation to join (``user`` empty until accepted), or an admin's reset
    of someone's access (``user`` set). Only the link token's SHA-256 is kept."""

    id = IdField()
    email = CharField(max_length=254, index=True)
    role = CharField(max_length=16)
    digest = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    invited_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="invitations_sent")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    #: Set when a newer link for the same person replaced this one, or it was withdrawn.
    withdrawn_at = DateTimeField(null=True)


class Event(BaseModel):
    """One line of the audit trail (audit.py): who did what to which post,
    channel or user, and when. ``actor`` is empty for socialpub itself (the
    workers, the scheduler)."""

    id = IdField()
    at = DateTimeField(default=utcnow, index=True)
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    subject = CharField(max_length=16)
    subject_id = IntegerField()
    action = CharField(max_length=32)
    #: What changed, in a few public fields (never a token).
    detail = JSONField(null=True)

    class Meta:
        indexes = ((("subject", "subject_id", "id"), False),)


class WebhookEndpoint(BaseModel):
    """Where outcome events are sent (webhooks/), signed per the Standard
    Webhooks specification with its secret — and, for a day after a rotation,
    with the previous one too."""

    id = IdField()
    url = TextField()
    description = CharField(max_length=200, default="")
    #: Event types it receives; empty: all of them.
    events = JSONField(default=list)
    enabled = BooleanField(default=True)
    #: ``whsec_…``, encrypted at rest; shown once, when made or rotated.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(null=True)
    previous_secret_until = DateTimeField(null=True)
    #: Why it was turned off by socialpub (410 Gone), if it was.
    disabled_reason = TextField(null=True)
    #: Since when its deliveries keep failing (None: the last one worked).
    failing_since = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


class OutboxEvent(BaseModel):
    """An outcome event, written in the transaction of the status change that
    causes it (webhooks/events.py), so none is lost: ``{"type", "timestamp",
    "data"}`` is its body, ``msg_id`` its ``webhook-id`` on every delivery."""

    id = IdField()
    msg_id = CharField(max_length=40, unique=True)
    type = CharField(max_length=40)
    payload = JSONField()
    created_at = DateTimeField(default=utcnow, index=True)


class WebhookDelivery(BaseModel):
    """One event to one endpoint: pending until it is sent (retried with a
    growing pause for about three days), then delivered or failed."""

    id = IdField()
    event = ForeignKeyField(OutboxEvent, on_delete="CASCADE")
    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    status = CharField(max_length=16, default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    #: When a message was last sent for it, or a worker took it.
    touched_at = DateTimeField(default=utcnow)
    last_status_code = IntegerField(null=True)
    last_error = TextField(null=True)
    delivered_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False), (("endpoint", "id"), False),
                   (("status", "touched_at"), False))


class WebhookAttempt(BaseModel):
    """One try of a delivery, for the endpoint's delivery log."""

    id = IdField()
    delivery = ForeignKeyField(WebhookDelivery, backref="tries", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    status_code = IntegerField(null=True)
    duration_ms = IntegerField()
    #: The first characters of the answer, or why there was none.
    excerpt = TextField(null=True)


class Email(BaseModel):
    """An e-mail to send (mail/): queued in the transaction of what it tells,
    sent by a worker, retried when the server does not take it. A "digest" one
    waits to be gathered into its user's next digest. The body is cleared once
    sent (an invitation's holds a single-use link)."""

    id = IdField()
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
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
        indexes = ((("status", "next_attempt_at"), False), (("status", "touched_at"), False))


class IdempotencyKey(BaseModel):
    """A request made with an ``Idempotency-Key`` (or a compose form's one-time
    key), and the answer it got: the same request again gets the same answer
    instead of being carried out twice (see idempotency.py)."""

    id = IdField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    key = CharField(max_length=255)
    #: SHA-256 of the method, path and body: a key reused for another request is refused.
    fingerprint = CharField(max_length=64)
    #: The answer's status, body and Location; status NULL while the first request runs.
    status = IntegerField(null=True)
    body = TextField(null=True)
    location = TextField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    #: While it runs: the request holding the key (a random token) and until when; past
    #: that, a retry takes the key over (the holder's process is taken to have died).
    owner = CharField(max_length=32, null=True)
    lease_until = DateTimeField(null=True)
    #: The post the request changed first, written in that change's own transaction:
    #: a retry after the lease answers from it instead of doing it again.
    changed_post = IntegerField(null=True)

    class Meta:
        indexes = ((("user", "key"), True),)


class MediaKind:
    IMAGE = "image"
    #: Video comes later; the column is there for it.
    ALL = (IMAGE,)


class Media(BaseModel):
    """An uploaded file in the media store, judged by its content (media/images.py).
    The same bytes uploaded twice are one row (``sha256`` is unique)."""

    id = IdField()
    kind = CharField(max_length=16, default=MediaKind.IMAGE)
    content_type = CharField(max_length=64)
    sha256 = CharField(max_length=64, unique=True)
    #: The SHA-256 of the bytes as they were uploaded (they differ from ``sha256``
    #: when the location was taken out): sent again, they are found without decoding.
    received_sha256 = CharField(max_length=64, null=True, index=True)
    size_bytes = IntegerField()
    width = IntegerField()
    height = IntegerField()
    #: Keys in the media store (media/storage.py), made from the content, never from a name.
    storage_key = CharField(max_length=100)
    thumbnail_key = CharField(max_length=100)
    #: A JPEG rendition of a PNG, WebP or GIF, for the networks that take JPEG
    #: only (Instagram) or not its type; NULL for a JPEG.
    jpeg_key = CharField(max_length=100, null=True)
    #: The name the file had on the person's computer, shown only (never a path).
    original_name = CharField(max_length=200, null=True)
    created_at = DateTimeField(default=utcnow, index=True)


class PostMedia(BaseModel):
    """A post's images, in order."""

    id = IdField()
    post = ForeignKeyField(Post, backref="media_links", on_delete="CASCADE")
    media = ForeignKeyField(Media, backref="post_links")
    position = IntegerField()

    class Meta:
        indexes = ((("post", "position"), True),)


class ImageFetch(BaseModel):
    """A post's ``image_url`` fetched once into the media library
    (media/remote.py), so that every network gets the same bytes. ``claimed_at``
    fences the worker fetching it; ``media`` is set when it is done."""

    post = ForeignKeyField(Post, primary_key=True, on_delete="CASCADE")
    url = TextField()
    media = ForeignKeyField(Media, null=True)
    claimed_at = DateTimeField()
    #: Why the last fetch failed (shown to the post's reviewer), until one succeeds.
    error = TextField(null=True)


class Contact(BaseModel):
    """Someone a WhatsApp channel may message (whatsapp/contacts.py): a number
    in E.164, or Meta's business-scoped user id (BSUID) for a person whose
    WhatsApp username hides their number — or both, once a webhook names
    both — with the record of their consent. A message goes only to a
    contact with an opt-in and without a later opt-out."""

    id = IdField()
    channel = ForeignKeyField(Channel, backref="contacts", on_delete="CASCADE")
    #: None for a person known only by their BSUID.
    phone = CharField(max_length=20, null=True)
    #: Meta's business-scoped user id ("CC.digits…", webhooks' ``user_id``): stable for this business.
    user_id = CharField(max_length=140, null=True)
    #: Their WhatsApp username as Meta last sent it (they may change it; user_id stays).
    username = CharField(max_length=100, null=True)
    name = CharField(max_length=100, null=True)
    #: The opt-in: when, how (the words the business uses: "website form", "in store"…), by whom.
    opted_in_at = DateTimeField(null=True)
    opt_in_method = CharField(max_length=200, null=True)
    opt_in_by = CharField(max_length=200, null=True)
    #: What proves a consent recorded to lift an opt-out (a form's reference, the person's message).
    opt_in_evidence = TextField(null=True)
    opted_out_at = DateTimeField(null=True)
    opt_out_reason = TextField(null=True)
    #: Their last message to the business (Meta's webhook): the 24-hour window runs from it.
    last_inbound_at = DateTimeField(null=True)
    #: A free-form message was refused as outside the window (131047) after last_inbound_at.
    window_closed_at = DateTimeField(null=True)
    #: A pair-rate limit (131056): no message to them before this.
    paused_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("channel", "phone"), True), (("channel", "user_id"), True))

    @property
    def shown(self) -> str:
        """How people see the contact: the number, else the username and BSUID."""
        if self.phone:
            return self.phone
        return f"@{self.username} ({self.user_id})" if self.username else (self.user_id or "?")


class Audience(BaseModel):
    """A named list of a WhatsApp channel's contacts."""

    id = IdField()
    channel = ForeignKeyField(Channel, backref="audiences", on_delete="CASCADE")
    name = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("channel", "name"), True),)


class AudienceMember(BaseModel):
    audience = ForeignKeyField(Audience, backref="members", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, backref="memberships", on_delete="CASCADE")

    class Meta:
        primary_key = CompositeKey("audience", "contact")


class Template(BaseModel):
    """A message template of a WhatsApp channel's business account, as Meta
    last said (whatsapp/templates.py syncs them)."""

    id = IdField()
    channel = ForeignKeyField(Channel, backref="templates", on_delete="CASCADE")
    name = CharField(max_length=512)
    language = CharField(max_length=16)
    #: MARKETING, UTILITY or AUTHENTICATION; APPROVED, PENDING, REJECTED, PAUSED or DISABLED.
    category = CharField(max_length=32)
    status = CharField(max_length=32)
    components = JSONField(default=list)
    synced_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("channel", "name", "language"), True),)


class Recipient(BaseModel):
    """One person of a WhatsApp publication (whatsapp/ledger.py): the message
    sent to them and what Meta said of it. ``status`` moves pending → sending
    → sent → delivered → read, or ends failed, window_closed, opted_out,
    skipped; "waiting" is over a limit, ``not_before`` says until when."""

    id = IdField()
    publication = ForeignKeyField(Publication, backref="recipients", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    #: Where the message goes: the number, or (a contact known only by it) the BSUID.
    phone = CharField(max_length=20, null=True)
    user_id = CharField(max_length=140, null=True)
    status = CharField(max_length=16, default="pending")
    #: "template" or "text" (free-form, inside the contact's window).
    kind = CharField(max_length=16, null=True)
    message_id = CharField(max_length=128, null=True, index=True)
    error_code = CharField(max_length=32, null=True)
    error = TextField(null=True)
    #: The attempt that is sending it: the fence of its writes.
    attempt = IntegerField(default=0)
    not_before = DateTimeField(null=True)
    sending_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    delivered_at = DateTimeField(null=True)
    read_at = DateTimeField(null=True)
    failed_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("publication", "phone"), True), (("phone", "sent_at"), False),
                   (("publication", "user_id"), True))

    @property
    def address(self) -> str:
        """Whom the message went to: the number, else the BSUID."""
        return self.phone or self.user_id


class MetaNotification(BaseModel):
    """A POST to ``/webhooks/meta`` whose signature was good, kept until the
    ``apply_meta_notification`` actor has applied it (whatsapp/inbound.py)."""

    id = IdField()
    body = TextField()
    received_at = DateTimeField(default=utcnow)
    applied_at = DateTimeField(null=True, index=True)


class PublicationTally(BaseModel):
    """How many publications a network has in a status, as of the last fold
    (metrics/tally.py); the deltas since are in PublicationDelta."""

    network = CharField(max_length=16)
    status = CharField(max_length=16)
    count = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("network", "status")


class PublicationDelta(BaseModel):
    """+1 or −1 for a network and status, written by the database's trigger in
    the transaction of each change of a publication (metrics/tally.py); with
    the publication's finished_at, for the recent outcomes (metrics/recent.py)."""

    #: A plain key, not an IdField: a delta is folded and deleted within a minute and never
    #: named outside the database; reusing its id harms nothing, and spares every change of
    #: a publication a write to SQLite's sqlite_sequence.
    id = AutoField()
    network = CharField(max_length=16)
    status = CharField(max_length=16)
    change = IntegerField()
    finished_at = DateTimeField(null=True)


class AttemptDelta(BaseModel):
    """An attempt's network, end and duration, written by the database's
    trigger when the attempt is recorded (metrics/recent.py)."""

    id = AutoField()  # plain, as PublicationDelta's
    network = CharField(max_length=16)
    finished_at = DateTimeField()
    seconds = FloatField()


class RecentOutcome(BaseModel):
    """Publications that reached a final status in one minute or one hour of
    the last day, by network and status (metrics/recent.py)."""

    span = CharField(max_length=6)
    start = DateTimeField()
    network = CharField(max_length=16)
    status = CharField(max_length=16)
    count = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("span", "start", "network", "status")


class RecentAttempts(BaseModel):
    """Attempts that ended in one minute or one hour of the last day, by network
    and by duration bucket (each 5 % wide): how many, and their seconds (metrics/recent.py)."""

    span = CharField(max_length=6)
    start = DateTimeField()
    network = CharField(max_length=16)
    bucket = IntegerField()
    count = IntegerField(default=0)
    seconds = FloatField(default=0)

    class Meta:
        primary_key = CompositeKey("span", "start", "network", "bucket")


class SchemaVersion(BaseModel):
    version = IntegerField()


TABLES = [Channel, Post, Publication, Attempt, User, ApiToken, IdempotencyKey, Media, PostMedia, ImageFetch,
          Invitation, Event, WebhookEndpoint, OutboxEvent, WebhookDelivery, WebhookAttempt, Email, Contact,
          Audience, AudienceMember, Template, Recipient, MetaNotification, PublicationTally, PublicationDelta,
          AttemptDelta, RecentOutcome, RecentAttempts, Notice]
