"""Connecting accounts: validate a channel's fields for its network and store it."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from .. import acting, api_versions, audit
from ..api_versions import DEFAULT_LINKEDIN_VERSION
from ..db import write_transaction
from ..errors import InvalidInput
from ..input_checks import check_url, refuse_unstorable_text
from ..models import Channel, ChannelState, utcnow
from ..networks import LABELS, NETWORKS
from ..networks.base import DEFAULT_BASE_URLS
from ..whatsapp import contacts

FIELDS = {"network", "name", "account_id", "token", "base_url", "recipients", "api_version", "enabled",
          "requires_approval", "business_account_id", "default_country", "send_rate", "min_gap_s", "max_per_hour"}
#: The longest value of each text field (the columns' sizes; a token is TEXT).
MAX_LENGTHS = {"network": 16, "name": 100, "account_id": 200, "token": 4096, "base_url": 300,
               "api_version": 16, "business_account_id": 64}
#: A WhatsApp channel's recipients: each message is sent to every one of them.
MAX_RECIPIENTS = 50
#: E.164: a plus and up to 15 digits (the plus is optional for the Cloud API).
PHONE = re.compile(r"\+?[1-9][0-9]{6,14}")
#: Pages, Instagram accounts and WhatsApp numbers are Graph ids: digits, put in URL paths.
GRAPH_ID = re.compile(r"[0-9]{1,30}")
LINKEDIN_AUTHOR = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
LINKEDIN_VERSION = api_versions.LINKEDIN_VERSION


#: How the fields are called where people read the message.
FIELD_NAMES = {"network": "the network", "name": "a name", "account_id": "the account id", "token": "the access token",
               "base_url": "the API address", "api_version": "the LinkedIn API version"}


def _text(data, field, *, required=True):
    max_length = MAX_LENGTHS[field]
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field}: {FIELD_NAMES.get(field, field)} is required", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be a string", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field}: longer than {max_length} characters", field=field)
    return value.strip()


#: Access tokens are one line of visible ASCII (a space or line break inside
#: would end up in a header, and in the error that refuses it).
TOKEN = re.compile(r"[\x21-\x7e]+")


def _token(data):
    token = _text(data, "token")
    if not TOKEN.fullmatch(token):
        raise InvalidInput("token: must be one line of visible characters, without spaces", field="token")
    return token


def _base_url(data, network) -> str:
    """The API root: a plain http(s) address that request paths are appended to."""
    url = check_url(data.get("base_url"), "base_url", MAX_LENGTHS["base_url"])
    if url is None:
        return DEFAULT_BASE_URLS[network]
    parts = urlsplit(url)
    # A ? or # would let the base choose the whole path of every call; user:password@ has no use here.
    if "?" in url or "#" in url or "@" in parts.netloc:
        raise InvalidInput("base_url: an API root such as https://graph.facebook.com/v24.0, "
                           "without ?, # or user@", field="base_url")
    return url.rstrip("/")


def parse_channel(data) -> dict:
    """Check a create-channel request; return the fields to store."""
    refuse_unstorable_text(data)
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidInput(f"{unknown[0]}: unknown field (expected one of {', '.join(sorted(FIELDS))})",
                           field=unknown[0])
    network = _text(data, "network")
    if network not in NETWORKS:
        raise InvalidInput(f"network: must be one of {', '.join(NETWORKS)}", field="network")
    values = {
        "network": network,
        "name": _text(data, "name", required=False) or LABELS[network],
        "account_id": _text(data, "account_id"),
        "token": _token(data),
        "base_url": _base_url(data, network),
        "api_version": _text(data, "api_version", required=False),
        "recipients": [],
        "enabled": data.get("enabled", True),
        "requires_approval": data.get("requires_approval", False),
    }
    for flag in ("enabled", "requires_approval"):
        if not isinstance(values[flag], bool):
            raise InvalidInput(f"{flag}: must be true or false", field=flag)
    if network != "linkedin" and not GRAPH_ID.fullmatch(values["account_id"]):
        raise InvalidInput(f"account_id: a {LABELS[network]} id is a number such as 546349135390552",
                           field="account_id")
    if network == "linkedin":
        if not LINKEDIN_AUTHOR.match(values["account_id"]):
            raise InvalidInput("account_id: a LinkedIn author URN such as urn:li:organization:123 "
                               "or urn:li:person:abc", field="account_id")
        if values["api_version"] and not LINKEDIN_VERSION.match(values["api_version"]):
            raise InvalidInput(f"api_version: LinkedIn versions look like {DEFAULT_LINKEDIN_VERSION}",
                               field="api_version")
        refused = values["api_version"] and api_versions.refusal("linkedin", values["api_version"],
                                                                 api_versions.today())
        if refused:
            raise InvalidInput(f"api_version: {refused}", field="api_version")
    if network == "whatsapp":
        recipients = data.get("recipients") or []
        if not isinstance(recipients, list):
            raise InvalidInput("recipients: a list of phone numbers (each becomes an opted-in contact)",
                               field="recipients")
        business = _text(data, "business_account_id", required=False)
        if business and not GRAPH_ID.fullmatch(business):
            raise InvalidInput("business_account_id: a WhatsApp Business Account id is a number such as "
                               "102290129340398", field="business_account_id")
        values["business_account_id"] = business or None
        values["default_country"] = contacts.checked_country(data.get("default_country"))
        values["send_rate"] = _send_rate(data.get("send_rate"))
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidInput(f"recipients: at most {MAX_RECIPIENTS} phone numbers", field="recipients")
        for number in recipients:
            if not isinstance(number, str) or not PHONE.fullmatch(number.replace(" ", "")):
                shown = number if isinstance(number, str) else type(number).__name__
                raise InvalidInput(f"recipients: {shown[:20]!r} is not an E.164 phone number",
                                   field="recipients")
        values["recipients"] = [n.replace(" ", "") for n in recipients]
        repeated = [n for i, n in enumerate(values["recipients"]) if n in values["recipients"][:i]]
        if repeated:
            raise InvalidInput(f"recipients: {repeated[0]} is listed twice", field="recipients")
    elif data.get("recipients"):
        raise InvalidInput("recipients: only WhatsApp channels have recipients", field="recipients")
    elif data.get("business_account_id"):
        raise InvalidInput("business_account_id: only WhatsApp channels have one", field="business_account_id")
    elif data.get("default_country"):
        raise InvalidInput("default_country: only WhatsApp channels have one (it reads their contacts' numbers)",
                           field="default_country")
    elif data.get("send_rate") not in (None, ""):
        raise InvalidInput("send_rate: only WhatsApp numbers have one (the messages a second they may send)",
                           field="send_rate")
    values["min_gap_s"] = _whole(data.get("min_gap_s"), "min_gap_s", 0, MAX_GAP_S,
                                 "the least seconds between two of its posts")
    values["max_per_hour"] = _whole(data.get("max_per_hour"), "max_per_hour", 1, MAX_PER_HOUR,
                                    "the most posts it takes in an hour")
    return values


#: A channel's spacing (lifecycle/pacing.py): a gap of a day at most, and a most per hour a minute apart at most.
MAX_GAP_S, MAX_PER_HOUR = 86_400, 3600


def _whole(value, field: str, least: int, most: int, meaning: str):
    """A whole number from ``least`` to ``most`` for ``field`` (None, or empty: the setting's)."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if type(value) is not int or not least <= value <= most:
        raise InvalidInput(f"{field}: {meaning}, a whole number from {least} to {most:,} (leave it empty for this "
                           f"installation's setting)", field=field)
    return value


#: Meta's highest throughput: 1,000 messages a second (an upgraded number).
MAX_SEND_RATE = 1000


def _send_rate(value):
    """A WhatsApp number's messages a second (None: WHATSAPP_SEND_RATE)."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if type(value) is not int or not 1 <= value <= MAX_SEND_RATE:
        raise InvalidInput(f"send_rate: a whole number of messages a second from 1 to {MAX_SEND_RATE} (Meta's "
                           f"default throughput is 80; 20 for a number shared with the WhatsApp Business app)",
                           field="send_rate")
    return value


def create_channel(data, identify=None) -> Channel:
    """Store a channel from ``data`` (a create-channel request). ``identify``
    (connecting.verify.identify) checks it with its network
    first: the channel takes the account's name there when ``data`` names none.

    Raises:
      AppError: a field is malformed, or the network refused the token or account.
    """
    values = parse_channel(data)
    if identify is not None:
        _identified(values, identify, keep_name=bool(_text(data, "name", required=False)))
    now = utcnow()
    with write_transaction():
        channel = Channel.create(created_at=now, updated_at=now, **values)
        audit.record(audit.CHANNEL, channel.id, "created", network=channel.network, name=channel.name)
        contacts.adopt_channel_recipients(channel, by=_who())
    return channel


def update_channel(channel: Channel, data, identify=None) -> Channel:
    """Change a channel: ``data`` holds the fields to change, as for
    :func:`create_channel`; the network cannot change. A missing or empty
    ``token`` keeps the stored one (tokens are write-only, so a form never has
    it). A new token is a re-authorisation: the channel becomes active again,
    once ``identify`` (as for :func:`create_channel`) has checked it.

    Raises:
      InvalidInput: a field is malformed, or ``network`` differs.
    """
    if data.get("network") not in (None, channel.network):
        raise InvalidInput(f"network: a {channel.network} channel cannot become {data['network']}; "
                           f"add a new channel instead", field="network")
    new_token = data.get("token")
    if isinstance(new_token, str) and not new_token.strip():
        new_token = None
    # A new token needs no key for the old one (it may be unreadable: a lost key).
    merged = {"network": channel.network, "name": channel.name, "account_id": channel.account_id,
              "token": new_token if new_token is not None else channel.token,
              "base_url": channel.base_url, "api_version": channel.api_version,
              "enabled": channel.enabled, "requires_approval": channel.requires_approval,
              "min_gap_s": channel.min_gap_s, "max_per_hour": channel.max_per_hour}
    if channel.network == "whatsapp":
        merged["recipients"] = channel.recipients
        merged["business_account_id"] = channel.business_account_id
        merged["default_country"] = channel.default_country
        merged["send_rate"] = channel.send_rate
    merged.update({k: v for k, v in data.items() if k != "token"})
    moved = [f for f in ("base_url", "account_id")
             if data.get(f) not in (None, "") and str(data[f]).strip().rstrip("/") != getattr(channel, f)]
    if moved and new_token is None:
        # Otherwise whoever can edit a channel could send its stored token to a host of theirs.
        raise InvalidInput(f"token: changing {moved[0]} needs the token again", field="token")
    values = parse_channel(merged)
    if new_token is not None and identify is not None:
        _identified(values, identify, keep_name=True)
    values["updated_at"] = utcnow()
    if new_token is not None:
        # A pasted token was not granted through this app's OAuth flow: its
        # Graph calls carry no appsecret_proof.
        values.update(state=ChannelState.ACTIVE, state_reason=None, connected_via=None)
    with write_transaction():
        Channel.update(**values).where(Channel.id == channel.id).execute()
        audit.record(audit.CHANNEL, channel.id, "edited", new_token=new_token is not None,
                     fields=sorted(k for k in data if k != "token" and data[k] != getattr(channel, k, None)))
        updated = Channel.get_by_id(channel.id)
        if updated.network == "whatsapp":
            contacts.adopt_channel_recipients(updated, by=_who())
    return updated


def _who() -> str:
    """Who listed a channel's recipients: the request's user, or socialpub."""
    user = acting.user.get()
    return user.email if user is not None else "socialpub"


def _identified(values: dict, identify, keep_name: bool):
    """Ask the network who the account is; its name unless ``keep_name``, and its picture."""
    identity = identify(values)
    if identity.name and not keep_name:
        values["name"] = identity.name[:MAX_LENGTHS["name"]]
    values["picture_url"], values["detail"] = identity.picture_url, identity.detail
    if values["network"] == "whatsapp" and values.get("default_country") is None:
        # Most of a number's contacts live where it does: national numbers are read in its country.
        values["default_country"] = contacts.country_of(identity.phone)


def sandbox_channels(sandbox_url: str) -> list:
    """One channel per network pointed at the sandbox, for the embedded default."""
    sandbox_url = sandbox_url.rstrip("/")
    graph = f"{sandbox_url}/{api_versions.DEFAULT_GRAPH_VERSION}"
    return [
        {"network": "facebook", "name": "Sandbox Page", "account_id": "546349135390552",
         "token": "sandbox-page-token", "base_url": graph},
        {"network": "instagram", "name": "Sandbox Instagram", "account_id": "17841405822304914",
         "token": "sandbox-ig-token", "base_url": graph},
        {"network": "linkedin", "name": "Sandbox LinkedIn", "account_id": "urn:li:organization:5515715",
         "token": "sandbox-li-token", "base_url": sandbox_url},
        {"network": "whatsapp", "name": "Sandbox WhatsApp", "account_id": "106540352242922",
         "token": "sandbox-wa-token", "base_url": graph, "recipients": ["+16505551234"],
         # What saving it with its network would guess: the sandbox's number is +1 650-555-0100.
         "business_account_id": "102290129340398", "default_country": "US"},
    ]


def seed_sandbox_channels(sandbox_url: str) -> int:
    """Add the sandbox channels unless channels exist; return how many were added."""
    if Channel.select().exists():
        return 0
    for data in sandbox_channels(sandbox_url):
        channel = create_channel(data)
        if channel.network == "whatsapp":
            contacts.save(channel, [contacts.checked(channel, {
                "phone": phone, "name": name, "opted_in": True, "audiences": ["Newsletter"],
                "opt_in_method": "sandbox demo: ticked the box on the website's sign-up form"}, "socialpub")
                for phone, name in SANDBOX_CONTACTS])
    return 4


#: The sandbox WhatsApp channel's demo contacts (the "Newsletter" audience).
SANDBOX_CONTACTS = (("+33612345601", "Ana"), ("+34612345602", "Bruno"), ("+447911123456", "Chloé"),
                    ("+4915112345604", "Dieter"))


def set_queue(channel: Channel, queue: dict | None) -> Channel:
    """Store the channel's posting times (intake/queue_slots.check's), or none."""
    with write_transaction():
        Channel.update(queue=queue, updated_at=utcnow()).where(Channel.id == channel.id).execute()
        audit.record(audit.CHANNEL, channel.id, "posting times changed",
                     slots=len((queue or {}).get("slots") or ()))
    return Channel.get_by_id(channel.id)
