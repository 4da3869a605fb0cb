"""Channel: a connected account of a network, and its states."""
from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from ..encryption import EncryptedTextField
from .base import BaseModel, IdField, JSONField, utcnow


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
    #: WhatsApp: the messages a second this number may send — its throughput at Meta (80 by
    #: default, 1,000 once Meta upgrades it, 20 when shared with the WhatsApp Business app);
    #: None: WHATSAPP_SEND_RATE.
    send_rate = IntegerField(null=True)
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
    #: Its own spacing (lifecycle/pacing.py): the least time between two of its posts (s) and the
    #: most it takes in an hour; NULL: CHANNEL_MIN_GAP_S / CHANNEL_MAX_PER_HOUR.
    min_gap_s = IntegerField(null=True)
    max_per_hour = IntegerField(null=True)
    #: The network's own count of a quota, as last read (lifecycle/pacing.py):
    #: {"instagram_posts": {"used", "total", "window_s", "read_at"}}; NULL: never read.
    quota_readings = JSONField(null=True)
    #: When its account's numbers are read next (analytics/collection.py): tomorrow once read, or
    #: an hour after a read was taken (a lease, and the retry of a failed read).
    metrics_due_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    @property
    def token_set(self) -> bool:
        """Whether a token is stored, known without decrypting it."""
        return bool(self.__data__.get("token"))


class QuotaUse(BaseModel):
    """One place a publication holds in one of its channel's quotas or in its
    spacing (lifecycle/pacing.py): taken before its network call, at the moment
    it may go (now, or later: it waits until then), given back if the network
    refused it. The network counts what it was sent, whatever becomes of the post,
    so a deleted post's places stay (``publication`` is no foreign key)."""

    #: Days a place is kept (retention.py): beyond every window it counts in.
    KEPT_DAYS = 2

    id = IdField()
    channel = ForeignKeyField(Channel, backref="+", on_delete="CASCADE", index=False)
    #: pacing.SPACING, pacing.INSTAGRAM_POSTS, pacing.FACEBOOK_REELS.
    quota = CharField(max_length=24)
    publication = IntegerField(index=True)
    at = DateTimeField()

    class Meta:
        indexes = ((("channel", "quota", "at"), False),)
