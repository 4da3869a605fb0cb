"""The statuses of posts and publications, and the one table of how they move.

Every status change is a conditional UPDATE whose ``WHERE status IN (…)`` is
built from a transition here (:func:`moves`), so a double click, two workers or
two schedulers can never both win, and what may move where is written once.
docs/architecture.md shows this table as a diagram (:func:`diagram`); a test
keeps the two equal.
"""
from __future__ import annotations

from dataclasses import dataclass


class PostStatus:
    DRAFT = "draft"
    #: Waits for ``scheduled_at``; the scheduler's sweep launches it.
    SCHEDULED = "scheduled"
    #: An editor asked to publish or schedule it; an admin approves or rejects (review.py).
    AWAITING = "awaiting_approval"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIAL = "partially_published"
    FAILED = "failed"
    ALL = (DRAFT, SCHEDULED, AWAITING, PUBLISHING, PUBLISHED, PARTIAL, FAILED)
    FINAL = (PUBLISHED, PARTIAL, FAILED)


class PublicationStatus:
    #: Created, not yet asked to publish.
    PENDING = "pending"
    #: A message was enqueued; no worker has it yet.
    QUEUED = "queued"
    #: A worker claimed it and is talking to the network.
    PROCESSING = "processing"
    #: A transient failure; the next try is due at ``next_attempt_at``.
    RETRYING = "retrying"
    PUBLISHED = "published"
    FAILED = "failed"
    #: Could not go out within its maximum age.
    EXPIRED = "expired"
    #: WhatsApp: some recipients have it, the others could not be sent it (whatsapp/ledger.py).
    PARTLY_FAILED = "partly_failed"
    #: The network may have accepted it but cannot be asked (WhatsApp: until
    #: Meta's status webhook names the messages): a person decides.
    UNCONFIRMED = "unconfirmed"
    ALL = (PENDING, QUEUED, PROCESSING, RETRYING, PUBLISHED, PARTLY_FAILED, FAILED, EXPIRED, UNCONFIRMED)
    FINAL = (PUBLISHED, PARTLY_FAILED, FAILED, EXPIRED, UNCONFIRMED)
    #: States a person may send again with "retry" (WhatsApp: to those who did not get it).
    RETRYABLE = (PARTLY_FAILED, FAILED, EXPIRED, UNCONFIRMED)


class OutboxStatus:
    """What every outbox row goes through (outbox.py): ``pending`` until its
    next try is due, ``sending`` while one worker holds it under a lease, then
    sent — each kind names that status — or ``failed`` once its schedule is used up."""
    PENDING = "pending"
    SENDING = "sending"
    FAILED = "failed"


class DeliveryStatus(OutboxStatus):
    """A webhook delivery's (webhooks/sending.py)."""
    DELIVERED = "delivered"
    FINAL = (DELIVERED, OutboxStatus.FAILED)


class EmailStatus(OutboxStatus):
    """An e-mail's (mail/sending.py)."""
    #: Waits for its person's hourly digest (mail/notices.py); never claimed while it does.
    DIGEST = "digest"
    SENT = "sent"
    FINAL = (SENT, OutboxStatus.FAILED)


class CommentStatus(OutboxStatus):
    """A first comment's (lifecycle/first_comments.py): pending — with no time
    while its post is not yet published there —, sending, then posted or failed."""
    POSTED = "posted"
    FINAL = (POSTED, OutboxStatus.FAILED)
    ALL = (OutboxStatus.PENDING, OutboxStatus.SENDING, POSTED, OutboxStatus.FAILED)


P, S = PublicationStatus, PostStatus


@dataclass(frozen=True)
class Transition:
    """``name`` moves a row from one of ``sources`` to one of ``targets``;
    ``by`` says who does it, and where in the code."""

    name: str
    sources: tuple
    targets: tuple
    by: str


#: How a publication moves. The worker's moves from "processing" are fenced
#: by the attempt that claimed it, too (delivery._fence).
PUBLICATION = {t.name: t for t in (
    Transition("create", (), (P.PENDING,), "web: a new post (creating.create_post)"),
    Transition("publish", (P.PENDING,), (P.QUEUED,), "web: Publish now (publishing.request_publish)"),
    Transition("launch", (P.PENDING,), (P.QUEUED,), "scheduler: a scheduled post's time (scheduling.launch)"),
    Transition("retry", P.RETRYABLE, (P.QUEUED,), "web: a person's Retry (publishing.retry)"),
    Transition("recall", (P.QUEUED,), (P.PENDING,),
               "web: a post taken back before any network call — cancel, edit, move or delete win until the "
               "claim (scheduling.recall)"),
    Transition("unqueue", (P.QUEUED,), (P.PENDING, *P.RETRYABLE),
               "web: the queue refused the messages; back as it was (publishing.send)"),
    Transition("claim", (P.QUEUED, P.RETRYING, P.PROCESSING), (P.PROCESSING,),
               "worker: queued, a retry that is due, or processing past its lease (delivery.claim)"),
    Transition("record published", (P.PROCESSING,), (P.PUBLISHED,),
               "worker: the network holds this post's item (delivery.record_published)"),
    Transition("wait for its place", (P.PROCESSING,), (P.QUEUED,),
               "worker: its channel's spacing or a quota holds it until a later moment, before any network "
               "call; the claim is undone (delivery.record_place_wait)"),
    Transition("record retry", (P.PROCESSING,), (P.RETRYING,),
               "worker: a transient error or a rate limit (delivery.record_retry)"),
    Transition("give up", (P.PROCESSING,), (P.PARTLY_FAILED, P.FAILED, P.EXPIRED, P.UNCONFIRMED),
               "worker: refused, out of retries, too late, maybe delivered, or — WhatsApp — sent to some "
               "recipients only (delivery.record_final)"),
    Transition("confirm", (P.UNCONFIRMED,), (P.PUBLISHED, P.PARTLY_FAILED, P.FAILED),
               "worker: Meta's status webhook named the messages of every recipient in doubt, or the network "
               "showed the item when it was looked for again (delivery.confirm, read_back.py)"),
    Transition("settle unclaimable", (P.QUEUED, P.RETRYING, P.PROCESSING), (P.EXPIRED, P.FAILED),
               "worker: too old, or its channel needs re-authorisation (delivery.claim)"),
    Transition("expire message", (P.QUEUED, P.RETRYING), (P.EXPIRED,),
               "worker: Dramatiq dropped its message as too old (delivery.expire)"),
    Transition("miss", (P.PENDING,), (P.EXPIRED,),
               "scheduler: found later than the allowed lateness (scheduling.launch)"),
    Transition("replace", (P.PENDING,), (),
               "web: an edit replaces a post's pending publications (editing.edit)"),
)}

#: How a post moves. "roll up" follows every change of its publications.
POST = {t.name: t for t in (
    Transition("create", (), (S.DRAFT, S.SCHEDULED, S.AWAITING),
               "web: a new post, scheduled or not, or waiting for approval (creating.create_post)"),
    Transition("split off", (), (S.AWAITING,),
               "web: an editor publishes or schedules a post to channels of which only some need approval: "
               "those channels' pending publications move to a new post, which waits; the others go out as "
               "asked (review.split_off)"),
    Transition("schedule", (S.DRAFT, S.SCHEDULED), (S.SCHEDULED,), "web: schedule or move (scheduling.schedule)"),
    Transition("submit", (S.DRAFT, S.SCHEDULED, S.AWAITING), (S.AWAITING,),
               "web: an editor asks to publish or schedule where approval is required, or a post awaiting "
               "approval is moved (review.submit)"),
    Transition("approve", (S.AWAITING,), (S.DRAFT, S.SCHEDULED),
               "web: an admin approves; a draft is then published at once (approval.approve)"),
    Transition("reject", (S.AWAITING,), (S.DRAFT,), "web: an admin rejects, with a comment (approval.reject)"),
    Transition("cancel", (S.SCHEDULED, S.AWAITING), (S.DRAFT,),
               "web: back to draft: unschedule, or withdraw the request for approval (scheduling.cancel)"),
    Transition("edit", (S.DRAFT, S.SCHEDULED, S.AWAITING), (S.DRAFT, S.SCHEDULED, S.AWAITING),
               "web: change what has not gone out, its time too; an editor's edit asks for approval again "
               "(editing.edit)"),
    Transition("delete", (S.DRAFT, S.SCHEDULED, S.AWAITING, S.FAILED), (), "web: remove it (editing.delete)"),
    Transition("delete history", (S.PUBLISHED, S.PARTIAL), (),
               "web: remove a published post's record, when asked (editing.delete)"),
    Transition("launch", (S.SCHEDULED,), (S.PUBLISHING,), "scheduler: its time (scheduling.launch)"),
    Transition("recall", (S.PUBLISHING,), (S.SCHEDULED, S.DRAFT),
               "web: a post none of whose publications a worker holds (launched for its time, or waiting for "
               "its place) is scheduled again, or a draft again if it had no time, so that the cancel, edit, "
               "move or delete asked of it wins (scheduling.recall)"),
    Transition("relaunch later", (S.DRAFT, S.PUBLISHING), (S.SCHEDULED,),
               "scheduler: the queue refused the messages (unqueueing rolled the post up to a draft); "
               "the next sweep tries again (scheduling.launch)"),
    Transition("publish", (S.DRAFT, S.SCHEDULED, S.PUBLISHING, S.PARTIAL, S.FAILED), (S.PUBLISHING,),
               "web: Publish now or Retry (publishing.mark_queued)"),
    Transition("roll up", (S.PUBLISHING,), (S.DRAFT, S.PUBLISHED, S.PARTIAL, S.FAILED),
               "whoever changed a publication, in the same transaction, from the publications' "
               "statuses (rollup.roll_up)"),
)}


def moves(table: dict, name: str, field):
    """The guard of transition ``name``: ``field`` (a status column) is one of its sources."""
    sources = table[name].sources
    return field == sources[0] if len(sources) == 1 else field.in_(list(sources))


def diagram() -> str:
    """Both tables as Mermaid state diagrams (docs/architecture.md holds this text)."""
    lines = []
    for title, table in (("Publication", PUBLICATION), ("Post", POST)):
        lines += [f"%% {title}", "stateDiagram-v2"]
        for t in table.values():
            for source in t.sources or ("[*]",):
                for target in t.targets or ("[*]",):
                    lines.append(f"    {source} --> {target}: {t.name}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
