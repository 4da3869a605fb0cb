"""A connected account becomes a channel — a new one, or the same one again:
reconnecting keeps the channel (its id, posts and history), makes it active,
and keeps a stored refresh token that the new grant did not replace."""
from __future__ import annotations

import datetime as dt

from ..db import write_transaction
from ..intake.channels import create_channel
from ..models import Channel, ChannelState, utcnow


def expiry(seconds) -> dt.datetime | None:
    """The instant ``seconds`` (an ``expires_in``) from now, naive UTC."""
    try:
        return utcnow() + dt.timedelta(seconds=int(seconds))
    except (TypeError, ValueError):
        return None


def save(network: str, account, token: dict, base_url: str) -> tuple:
    """Store ``account`` (a connecting.linkedin.Account) with ``token`` (the
    token endpoint's answer); return ``(channel, created)``."""
    granted = {"token_expires_at": expiry(token.get("expires_in")),
               "scopes": " ".join((token.get("scope") or "").replace(",", " ").split()) or None,
               "picture_url": account.picture_url}
    refresh = {"refresh_token": token["refresh_token"],
               "refresh_token_expires_at": expiry(token.get("refresh_token_expires_in"))} \
        if token.get("refresh_token") else {}
    with write_transaction():
        channel = Channel.get_or_none((Channel.network == network) & (Channel.account_id == account.account_id))
        if channel is None:
            channel = create_channel({"network": network, "name": account.name[:100],
                                      "account_id": account.account_id, "token": token["access_token"],
                                      "base_url": base_url})
            created = True
        else:
            (Channel.update(name=account.name[:100], token=token["access_token"], base_url=base_url,
                            state=ChannelState.ACTIVE, state_reason=None, updated_at=utcnow())
             .where(Channel.id == channel.id).execute())
            created = False
        Channel.update(**granted, **refresh).where(Channel.id == channel.id).execute()
    return Channel.get_by_id(channel.id), created
