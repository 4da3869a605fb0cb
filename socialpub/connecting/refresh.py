"""Tokens that stay alive: a connected channel whose token expires within
``REFRESH_AHEAD`` and that holds a refresh token gets a new access token from
its network's token endpoint, nobody noticing. The scheduler runs it every
15 minutes (queue/actors.refresh_tokens).

Each refresh is claimed with one conditional UPDATE, so two schedulers (or
an overlapping run) refresh a channel once. A transient failure — no answer,
a 5xx — leaves the token for the next run; a refusal (the refresh token was
revoked or has expired) moves the channel to ``needs_reauth`` in the
network's words. A channel that cannot be refreshed is shown as expiring soon
instead (:func:`expiring_soon`).
"""
from __future__ import annotations

import datetime as dt
import logging

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from ..config import Settings
from ..db import write_transaction
from ..models import Channel, ChannelState, utcnow
from .store import expiry

logger = logging.getLogger(__name__)

#: Refresh this long before the token expires (LinkedIn's live 60 days).
REFRESH_AHEAD = dt.timedelta(days=7)
#: A token that cannot be refreshed is shown as expiring soon this long ahead.
WARN_AHEAD = dt.timedelta(days=7)
#: A refresh claimed longer ago than this lost its scheduler: it may be claimed again.
CLAIM_LEASE = dt.timedelta(minutes=5)
TIMEOUT_S = 15


def token_endpoint(settings: Settings, network: str):
    """``(url, client id, client secret)`` of ``network``'s token endpoint, or None."""
    if network == "linkedin" and settings.linkedin_client_id:
        return (f"{settings.linkedin_oauth_url}/accessToken", settings.linkedin_client_id,
                settings.linkedin_client_secret)
    return None


def due(now: dt.datetime | None = None) -> list:
    """Active channels with a refresh token whose token expires within REFRESH_AHEAD."""
    now = now or utcnow()
    return list(Channel.select(Channel.id, Channel.network)
                .where(Channel.refresh_token.is_null(False) & (Channel.state == ChannelState.ACTIVE)
                       & (Channel.token_expires_at < now + REFRESH_AHEAD)
                       & (Channel.token_refreshing_since.is_null()
                          | (Channel.token_refreshing_since < now - CLAIM_LEASE)))
                .order_by(Channel.token_expires_at).tuples())


def refresh_due(settings: Settings, now: dt.datetime | None = None) -> dict:
    """Refresh every channel that is due; return ``{"refreshed", "failed", "left"}`` counts."""
    counts = {"refreshed": 0, "failed": 0, "left": 0}
    for channel_id, network in due(now):
        endpoint = token_endpoint(settings, network)
        if endpoint is not None:
            counts[refresh(channel_id, endpoint)] += 1
    return counts


def refresh(channel_id: int, endpoint) -> str:
    """Refresh one channel's token: "refreshed", "failed" (now needs_reauth),
    or "left" (not ours to refresh, or a transient failure: the next run tries)."""
    now = utcnow()
    with write_transaction():
        claimed = (Channel.update(token_refreshing_since=now)
                   .where((Channel.id == channel_id) & Channel.refresh_token.is_null(False)
                          & (Channel.token_refreshing_since.is_null()
                             | (Channel.token_refreshing_since < now - CLAIM_LEASE)))
                   .execute())
    if not claimed:
        return "left"
    channel = Channel.get_by_id(channel_id)
    url, client_id, client_secret = endpoint
    session = OAuth2Session(client_id, client_secret, token_endpoint_auth_method="client_secret_post")
    ours = (Channel.id == channel_id) & (Channel.token_refreshing_since == now)
    try:
        token = session.refresh_token(url, refresh_token=channel.refresh_token, timeout=TIMEOUT_S)
    except OAuthError as exc:
        reason = f"{channel.network} refused to refresh the token: {exc.description or exc.error}; reconnect it"
        (Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason=reason, token_refreshing_since=None,
                        updated_at=utcnow()).where(ours).execute())
        logger.warning("Channel %d: %s", channel_id, reason)
        return "failed"
    except requests.RequestException as exc:
        Channel.update(token_refreshing_since=None).where(ours).execute()
        logger.warning("Channel %d: the token endpoint did not answer (%s); trying at the next run.",
                       channel_id, exc.__class__.__name__)
        return "left"
    finally:
        session.close()
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
            and not channel.__data__.get("refresh_token"))
