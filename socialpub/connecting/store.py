"""A connected account becomes a channel — a new one, or the same one again:
reconnecting keeps the channel (its id, posts and history), makes it active,
and keeps a stored refresh token that the new grant did not replace."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .. import audit
from ..db import write_transaction
from ..intake.channels import create_channel
from ..models import Channel, ChannelState, utcnow


@dataclass(frozen=True)
class Account:
    """An account a grant may publish to, as its network describes it."""

    network: str
    account_id: str
    name: str
    picture_url: str | None = None
    #: The account's own token (a Facebook Page's), else the grant's access token is used.
    token: str | None = None
    #: A line shown beside it when the person chooses (a Business portfolio, an @username).
    detail: str | None = None


class NotConnected(Exception):
    """A connection that cannot go on, in words for the person: nothing was stored."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def expiry(seconds) -> dt.datetime | None:
    """The instant ``seconds`` (an ``expires_in``) from now, naive UTC."""
    try:
        return utcnow() + dt.timedelta(seconds=int(seconds))
    except (TypeError, ValueError):
        return None


def save(account: Account, token: dict, base_url: str, connected_via: str) -> tuple:
    """Store ``account`` with ``token`` (the token endpoint's answer, or the
    account's own token when it has one, which does not expire); return
    ``(channel, created)``."""
    network = account.network
    access_token = account.token or token["access_token"]
    granted = {"token_expires_at": None if account.token else expiry(token.get("expires_in")),
               "scopes": " ".join((token.get("scope") or "").replace(",", " ").split()) or None,
               "picture_url": account.picture_url, "detail": account.detail, "connected_via": connected_via}
    refresh = {"refresh_token": token["refresh_token"],
               "refresh_token_expires_at": expiry(token.get("refresh_token_expires_in"))} \
        if token.get("refresh_token") else {}
    with write_transaction():
        channel = Channel.get_or_none((Channel.network == network) & (Channel.account_id == account.account_id))
        if channel is None:
            channel = create_channel({"network": network, "name": account.name[:100],
                                      "account_id": account.account_id, "token": access_token,
                                      "base_url": base_url})
            created = True
        else:
            (Channel.update(name=account.name[:100], token=access_token, base_url=base_url,
                            state=ChannelState.ACTIVE, state_reason=None, updated_at=utcnow())
             .where(Channel.id == channel.id).execute())
            created = False
        Channel.update(**granted, **refresh).where(Channel.id == channel.id).execute()
        audit.record(audit.CHANNEL, channel.id, "connected" if created else "reconnected", via=connected_via)
    return Channel.get_by_id(channel.id), created
