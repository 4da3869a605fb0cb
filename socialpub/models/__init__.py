"""The tables, one module per concern: channels.py (connected accounts), posts.py
(posts, publications, attempts, first comments, idempotency keys), people.py (users, tokens,
invitations, notices, the audit trail), media.py, outbox.py (webhooks, e-mails,
Meta's notifications), channels.py also the places publications hold in their
channel's quotas and spacing (QuotaUse), whatsapp.py (contacts, audiences, templates, recipients),
counters.py (tallies kept instead of counted), analytics.py (how published items and accounts did), reviews.py (review links and
reviewers' decisions), on base.py's ground (ids never
handed out twice, JSON columns, UTC times). Everything is importable from
``socialpub.models``; the statuses are re-exported from ``statuses.py``."""
from ..statuses import PostStatus, PublicationStatus
from .analytics import ChannelMetrics, MetricReading, PostMetrics
from .base import BaseModel, IdField, JSONField, SchemaVersion, iso, utcnow
from .campaigns import ShortLink, Snippet
from .channels import Channel, ChannelState, QuotaUse
from .counters import AttemptDelta, PublicationDelta, PublicationTally, RecentAttempts, RecentOutcome
from .media import ImageFetch, Media, MediaKind, PostMedia
from .outbox import Email, MetaNotification, OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .people import ApiToken, Event, Invitation, Notice, User
from .posts import (
    HELD_ITEMS_INDEX,
    UNSUCCESSFUL,
    UNSUCCESSFUL_INDEX,
    Attempt,
    FirstComment,
    IdempotencyKey,
    Post,
    Publication,
)
from .reviews import ReviewDecision, ReviewLink, ReviewLinkPost
from .whatsapp import Audience, AudienceMember, Contact, Recipient, Template

TABLES = [Channel, Post, Publication, Attempt, User, ApiToken, IdempotencyKey, Media, PostMedia, ImageFetch,
          Invitation, Event, WebhookEndpoint, OutboxEvent, WebhookDelivery, WebhookAttempt, Email, Contact,
          Audience, AudienceMember, Template, Recipient, MetaNotification, PublicationTally, PublicationDelta,
          AttemptDelta, RecentOutcome, RecentAttempts, Notice, QuotaUse, FirstComment, PostMetrics, MetricReading,
          ChannelMetrics, ReviewLink, ReviewLinkPost, ReviewDecision, ShortLink, Snippet]

__all__ = ["ApiToken", "Attempt", "AttemptDelta", "Audience", "AudienceMember", "BaseModel", "Channel", "ChannelMetrics", "ChannelState", "Contact", "Email", "Event", "FirstComment", "HELD_ITEMS_INDEX", "IdField", "IdempotencyKey", "ImageFetch", "Invitation", "JSONField", "Media", "MediaKind", "MetaNotification", "MetricReading", "Notice", "OutboxEvent", "Post", "PostMedia", "PostMetrics", "PostStatus", "Publication", "PublicationDelta", "PublicationStatus", "PublicationTally", "QuotaUse", "RecentAttempts", "RecentOutcome", "Recipient", "ReviewDecision", "ReviewLink", "ReviewLinkPost", "SchemaVersion", "ShortLink", "Snippet", "Template", "UNSUCCESSFUL", "UNSUCCESSFUL_INDEX", "User", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "iso", "utcnow", "TABLES"]
