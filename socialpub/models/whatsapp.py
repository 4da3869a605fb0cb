"""WhatsApp's rows: contacts with their consent, audiences, templates, each publication's recipients."""
from __future__ import annotations

from peewee import CharField, CompositeKey, DateTimeField, ForeignKeyField, IntegerField, TextField

from .base import BaseModel, IdField, JSONField, utcnow
from .channels import Channel
from .posts import Publication


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
