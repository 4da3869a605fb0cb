"""Post, Publication (one per post and channel), Attempt (one row per call made to a network),
IdempotencyKey.

Statuses are plain strings so that SQL stays readable; every change of status
is a conditional UPDATE (lifecycle/: publishing.py asks, delivery.py records)."""
from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from ..statuses import CommentStatus, PostStatus, PublicationStatus
from .base import BaseModel, IdField, JSONField, utcnow
from .channels import Channel
from .people import User


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
    #: How it repeats (lifecycle/recurrence.py): {"every": n, "unit": "day" or "week", "until": "YYYY-MM-DD"
    #: or null}, from its scheduled time in its zone; NULL: it does not.
    recurrence = JSONField(null=True)
    #: How its link is published (campaigns/links.py): ``{"utm", "short", "campaign"}``; None: as typed.
    link_tracking = JSONField(null=True)
    #: The first post of its series (itself for the first); NULL: no series.
    series_of = IntegerField(null=True)
    #: The occurrence made after it, once it went out; NULL while none was.
    next_in_series = IntegerField(null=True)


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
    #: How a post's video goes to this channel: one of its network's video kinds ("reel", "story",
    #: "video", "message"; networks/base.VideoRules); None when the post has no video.
    video_kind = CharField(max_length=16, null=True)
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
    #: (LinkedIn), {"media_id": ...} (WhatsApp); a video's upload: its ids, offsets
    #: and parts as each network names them ({"video_id", "offset"}, {"video_urn", "etags"} …).
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
    #: When the network was seen holding its item, read back by its id (lifecycle/read_back.py).
    confirmed_at = DateTimeField(null=True)
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


class FirstComment(BaseModel):
    """The comment posted under a publication's item once it is out (the
    hashtags or the link under an Instagram or LinkedIn post): an outbox row
    (outbox.py), due — ``next_attempt_at`` set — only once its publication is
    published, then claimed, sent once and settled (lifecycle/first_comments.py)."""

    id = IdField()
    publication = ForeignKeyField(Publication, backref="+", on_delete="CASCADE", unique=True)
    text = TextField()
    status = CharField(max_length=16, default=CommentStatus.PENDING)
    attempts = IntegerField(default=0)
    #: NULL while its publication is not published.
    next_attempt_at = DateTimeField(null=True)
    touched_at = DateTimeField(default=utcnow)
    last_error = TextField(null=True)
    #: The comment's id at the network, kept before anything else is done with it.
    external_id = CharField(max_length=200, null=True)
    posted_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


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
