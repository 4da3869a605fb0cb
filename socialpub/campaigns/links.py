"""Links that count: a post's link as each channel publishes it — with UTM
parameters for the team's web analytics (``utm_source={network}``,
``utm_medium=social``, ``utm_campaign={campaign}``: the ``LINK_UTM``
setting's template), and optionally as a short link served by socialpub
itself (``<PUBLIC_BASE_URL>/l/<code>``) that counts its clicks.

A post asks for it with ``link_tracking`` — ``{"utm": bool, "short": bool,
"campaign": "spring-menu"}`` (``parse``) —; without it the link goes as typed.
The link is made when the publication is sent (``as_sent``, in the attempt),
so the stored texts stay as the person wrote them; the short link is one row
per post and channel, made once (a unique key: a second attempt finds it).

Following a short link is one statement — ``UPDATE … SET clicks = clicks + 1
… RETURNING target`` — and keeps nothing about who clicked: no address, no
cookie, no browser; only the count per link.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import InvalidInput
from ..input_checks import refuse_unstorable_text
from ..models.campaigns import ShortLink

#: What ``link_tracking`` may hold.
FIELDS = {"utm", "short", "campaign"}
MAX_CAMPAIGN = 100
CAMPAIGN = re.compile(r"^[\w .\-+/]{1,100}$")
#: Short codes: 8 URL-safe characters (48 bits).
CODE_BYTES = 6


def parse(value) -> dict | None:
    """``link_tracking`` as sent, checked: None (the link as typed) or ``{"utm", "short", "campaign"}``.

    Raises:
      InvalidInput: naming the field.
    """
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - FIELDS:
        raise InvalidInput('link_tracking: {"utm": true, "short": true, "campaign": "spring-menu"}',
                           field="link_tracking")
    for name in ("utm", "short"):
        if type(value.get(name, False)) is not bool:
            raise InvalidInput(f"link_tracking.{name}: true or false", field=f"link_tracking.{name}")
    campaign = value.get("campaign")
    if campaign is not None and (not isinstance(campaign, str) or not CAMPAIGN.match(campaign)):
        raise InvalidInput(f"link_tracking.campaign: up to {MAX_CAMPAIGN} letters, digits, spaces and . - + / _",
                           field="link_tracking.campaign")
    if campaign is not None:
        refuse_unstorable_text(campaign, "link_tracking.campaign")
    checked = {"utm": bool(value.get("utm")), "short": bool(value.get("short")), "campaign": campaign}
    return checked if checked["utm"] or checked["short"] else None


def with_utm(link: str, template: str, network: str, campaign: str) -> str:
    """``link`` with the template's parameters added; a parameter the link has already is left as it is."""
    parts = urlsplit(link)
    have = parse_qsl(parts.query, keep_blank_values=True)
    names = {name for name, _ in have}
    added = [(name, value.replace("{network}", network).replace("{campaign}", campaign))
             for name, value in parse_qsl(template, keep_blank_values=True) if name not in names]
    return urlunsplit(parts._replace(query=urlencode(have + added)))


def tracked(link: str, tracking: dict | None, network: str, post_id: int, template: str) -> str:
    """The link with its UTM parameters (when asked); the target of a short link too."""
    if not tracking or not tracking.get("utm"):
        return link
    return with_utm(link, template, network, tracking.get("campaign") or f"post-{post_id}")


def short_link(post_id: int, channel_id: int, network: str, target: str) -> ShortLink:
    """The post's short link for that channel, made once (its unique key: post and channel)."""
    ShortLink.insert(code=secrets.token_urlsafe(CODE_BYTES), post=post_id, channel_id=channel_id, network=network,
                     target=target).on_conflict_ignore().execute()
    return ShortLink.get((ShortLink.post == post_id) & (ShortLink.channel_id == channel_id))


def as_sent(link: str | None, tracking: dict | None, post_id: int, channel_id: int, network: str, settings) -> str | None:
    """The link a channel publishes: as typed, with UTM parameters, or the short link to that."""
    if not link or not tracking:
        return link
    target = tracked(link, tracking, network, post_id, settings.link_utm)
    if not tracking.get("short") or not settings.public_base_url:
        return target
    return f"{settings.public_base_url.rstrip('/')}/l/{short_link(post_id, channel_id, network, target).code}"


def follow(code: str) -> str | None:
    """Count one click of the short link ``code`` and return where it goes; None for no such link."""
    if not code or len(code) > 16:
        return None
    row = (ShortLink.update(clicks=ShortLink.clicks + 1).where(ShortLink.code == code)
           .returning(ShortLink.target).execute())
    found = list(row)
    return found[0].target if found else None


def clicks_of(post_id: int) -> dict:
    """``{channel id: clicks}`` of the post's short links."""
    return dict(ShortLink.select(ShortLink.channel_id, ShortLink.clicks).where(ShortLink.post == post_id).tuples())
