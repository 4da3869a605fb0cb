"""Tokens that stay alive: a connected channel whose token expires within
``REFRESH_AHEAD`` and that can be renewed — it holds a refresh token
(LinkedIn), or it came through Instagram Login (whose token renews itself) —
gets a new access token, nobody noticing. The scheduler runs it every
15 minutes (worker/periodic.refresh_tokens).

Each refresh is claimed with one conditional UPDATE, so two schedulers (or
an overlapping run) refresh a channel once. A transient failure — no answer,
a 5xx — leaves the token for the next run; a refusal (the refresh token was
revoked or has expired) moves the channel to ``needs_reauth`` in the
network's words. A channel that cannot be refreshed is shown as expiring soon
instead (:func:`expiring_soon`).
"""
from __future__ import annotations

import datetime as dt
import functools
import logging

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from .. import audit, outcomes
from ..config import Settings
from ..db import write_transaction
from ..models import Channel, ChannelState, iso, utcnow
from ..networks.base import ErrorKind, PublishError
from ..webhooks import events
from . import instagram
from .store import expiry

logger = logging.getLogger(__name__)

#: Refresh this long before the token expires (LinkedIn's live 60 days).
REFRESH_AHEAD = dt.timedelta(days=7)
#: A token that cannot be refreshed is shown as expiring soon this long ahead.
WARN_AHEAD = dt.timedelta(days=7)
#: A refresh claimed longer ago than this lost its scheduler: it may be claimed again.
CLAIM_LEASE = dt.timedelta(minutes=5)
TIMEOUT_S = 15


class RenewalRefused(Exception):
    """The network will not renew this token: the channel must be reconnected."""


class Unanswered(Exception):
    """No renewal this time (no answer, a 5xx): the next run tries again."""


def _refreshable():
    """Channels whose token can be renewed without the person: a refresh token,
    or an Instagram Login token (renewed with itself)."""
    return Channel.refresh_token.is_null(False) | (Channel.connected_via == "instagram")


def unrenewable():
    """The opposite of :func:`_refreshable`, NULL-safe: channels only a person can renew."""
    return Channel.refresh_token.is_null() & (Channel.connected_via.is_null()
                                              | (Channel.connected_via != "instagram"))


def renewal(settings: Settings, network: str, connected_via):
    """How ``network``'s tokens are renewed, as ``renew(channel) -> token answer``, or None."""
    if connected_via == "instagram" and settings.instagram_app_id:
        return functools.partial(_renew_instagram, settings)
    if network == "linkedin" and settings.linkedin_client_id:
        return functools.partial(_renew_with_refresh_token, f"{settings.linkedin_oauth_url}/accessToken",
                                 settings.linkedin_client_id, settings.linkedin_client_secret)
    return None


def _renew_with_refresh_token(url: str, client_id: str, client_secret: str, channel: Channel) -> dict:
    """OAuth 2.0's refresh_token grant (LinkedIn: Refresh Tokens with OAuth 2.0)."""
    session = OAuth2Session(client_id, client_secret, token_endpoint_auth_method="client_secret_post")
    try:
        return session.refresh_token(url, refresh_token=channel.refresh_token, timeout=TIMEOUT_S)
    except OAuthError as exc:
        raise RenewalRefused(exc.description or exc.error) from None
    except requests.RequestException as exc:
        raise Unanswered(exc.__class__.__name__) from None
    finally:
        session.close()


def _renew_instagram(settings: Settings, channel: Channel) -> dict:
    """Instagram Login's refresh_access_token, with the long-lived token itself."""
    try:
        return instagram.refreshed(settings, channel.token)
    except PublishError as exc:
        if exc.kind in (ErrorKind.AUTH, ErrorKind.PERMANENT):
            raise RenewalRefused(exc.message) from None
        raise Unanswered(exc.message) from None


def due(now: dt.datetime | None = None) -> list:
    """Active refreshable channels whose token expires within REFRESH_AHEAD."""
    now = now or utcnow()
    return list(Channel.select(Channel.id, Channel.network, Channel.connected_via)
                .where(_refreshable() & (Channel.state == ChannelState.ACTIVE)
                       & (Channel.token_expires_at < now + REFRESH_AHEAD)
                       & (Channel.token_refreshing_since.is_null()
                          | (Channel.token_refreshing_since < now - CLAIM_LEASE)))
                .order_by(Channel.token_expires_at).tuples())


def refresh_due(settings: Settings, now: dt.datetime | None = None) -> dict:
    """Refresh every channel that is due; return ``{"refreshed", "failed", "left"}``
    counts; then tell about the tokens that will expire unrenewed (:func:`warn_expiring`)."""
    counts = {"refreshed": 0, "failed": 0, "left": 0}
    for channel_id, network, connected_via in due(now):
        renew = renewal(settings, network, connected_via)
        if renew is not None:
            counts[refresh(channel_id, renew)] += 1
    warn_expiring(now)
    return counts


def warn_expiring(now: dt.datetime | None = None) -> int:
    """A "channel.expires_soon" event, once per token, for each channel whose
    token expires within WARN_AHEAD and that nothing will renew; return how many."""
    now = now or utcnow()
    soon = (Channel.select(Channel.id, Channel.token_expires_at)
            .where(Channel.token_expires_at.between(now, now + WARN_AHEAD) & Channel.refresh_token.is_null()
                   & (Channel.connected_via.is_null() | (Channel.connected_via != "instagram"))
                   & (Channel.expiry_warned_for.is_null() | (Channel.expiry_warned_for != Channel.token_expires_at)))
            .tuples())
    warned = 0
    for channel_id, expires_at in list(soon):
        with write_transaction():
            if (Channel.update(expiry_warned_for=expires_at)
                    .where((Channel.id == channel_id) & (Channel.token_expires_at == expires_at)
                           & (Channel.expiry_warned_for.is_null() | (Channel.expiry_warned_for != expires_at)))
                    .execute()):
                audit.record(audit.CHANNEL, channel_id, "expires soon", actor=None, expires_at=iso(expires_at))
                outcomes.tell(events.CHANNEL_EXPIRES_SOON, channel_id)
                warned += 1
    return warned


def refresh(channel_id: int, renew) -> str:
    """Refresh one channel's token with ``renew`` (see :func:`renewal`): "refreshed",
    "failed" (now needs_reauth), or "left" (not ours to refresh, or no answer:
    the next run tries)."""
    now = utcnow()
    with write_transaction():
        claimed = (Channel.update(token_refreshing_since=now)
                   .where((Channel.id == channel_id) & _refreshable()
                          & (Channel.token_refreshing_since.is_null()
                             | (Channel.token_refreshing_since < now - CLAIM_LEASE)))
                   .execute())
    if not claimed:
        return "left"
    channel = Channel.get_by_id(channel_id)
    ours = (Channel.id == channel_id) & (Channel.token_refreshing_since == now)
    try:
        token = renew(channel)
    except RenewalRefused as exc:
        reason = f"{channel.network} refused to refresh the token: {exc}; reconnect it"
        with write_transaction():
            if (Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason=reason, token_refreshing_since=None,
                               updated_at=utcnow()).where(ours).execute()):
                audit.record(audit.CHANNEL, channel_id, "needs re-authorisation", reason=reason)
                outcomes.tell(events.CHANNEL_NEEDS_REAUTH, channel_id)
        logger.warning("Channel %d: %s", channel_id, reason)
        return "failed"
    except Unanswered as exc:
        Channel.update(token_refreshing_since=None).where(ours).execute()
        logger.warning("Channel %d: the token endpoint did not answer (%s); trying at the next run.",
                       channel_id, exc)
        return "left"
    changes = {"token": token["access_token"], "token_expires_at": expiry(token.get("expires_in")),
               "token_refreshing_since": None, "updated_at": utcnow()}
    if token.get("refresh_token"):
        changes.update(refresh_token=token["refresh_token"],
                       refresh_token_expires_at=expiry(token.get("refresh_token_expires_in")))
    Channel.update(**changes).where(ours).execute()
    logger.info("Channel %d: token refreshed, now valid until %s UTC.", channel_id, changes["token_expires_at"])
    return "refreshed"


def expiring_soon(channel: Channel, now: dt.datetime | None = None) -> bool:
    """A token that expires within WARN_AHEAD and that nothing will refresh."""
    now = now or utcnow()
    return (channel.token_expires_at is not None and channel.token_expires_at < now + WARN_AHEAD
            and not channel.__data__.get("refresh_token") and channel.connected_via != "instagram")
