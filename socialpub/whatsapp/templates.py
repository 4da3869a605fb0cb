"""Message templates: synced from the channel's WhatsApp Business Account,
and a post's WhatsApp message — an APPROVED template whose parameters the
post fills (its image or its video as the header, its text into the body's
variables) —
checked before anything is queued, so that Meta's 132000 (wrong number of
parameters) and 132001 (no such template) are avoided, not met.

The post's choice (``Post.whatsapp``): ``{"template": name, "language": code,
"body": [one text per {{n}} of the body, in order], "audience": name or
None}``. In a body parameter, ``{text}`` stands for the post's text and
``{link}`` for its link. Templates with named parameters, or a header with a
variable, are shown but cannot be chosen yet.
"""
from __future__ import annotations

import logging
import re

from .. import audit
from ..db import write_transaction
from ..errors import AppError, InvalidInput, NetworkUnreachable, Unprocessable
from ..models import Audience, Channel, Template, utcnow
from ..networks import ErrorKind, PublishError, Target, get_adapter
from ..networks.base import Timeouts

logger = logging.getLogger(__name__)

#: Meta: a parameter's text has no new line or tab, and no more than four spaces in a row.
_BAD_PARAM = re.compile(r"[\n\t]| {5,}")
#: Meta: a body, once filled in, takes at most 1,024 characters.
MAX_BODY = 1024
_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
#: The media headers socialpub fills, by the template's header format: the parameter's type.
MEDIA_HEADERS = {"IMAGE": "image", "VIDEO": "video"}


def sync(channel: Channel, settings) -> int:
    """Replace the channel's templates with what the business account lists
    (``GET /{waba-id}/message_templates``, every page). Returns how many.

    Raises:
      InvalidInput: the channel has no business account id.
      Unprocessable: Meta refused the token or the account (in its words).
      NetworkUnreachable: Meta did not answer.
    """
    if not channel.business_account_id:
        raise InvalidInput("business_account_id: set the channel's WhatsApp Business Account id first "
                           "(Business settings → Accounts → WhatsApp accounts)", field="business_account_id")
    target = Target(network="whatsapp", account_id=channel.account_id, token=channel.token,
                    base_url=channel.base_url, app_secret=settings.app_secrets().get(channel.connected_via) or None)
    adapter = get_adapter("whatsapp", Timeouts(settings.connect_timeout, settings.read_timeout))
    try:
        listed = adapter.list_templates(target, channel.business_account_id)
    except PublishError as exc:
        words = exc.redact(target.token).message
        if exc.kind is ErrorKind.AUTH:
            raise Unprocessable(f"token: WhatsApp refused it: {words}", field="token") from None
        if exc.kind is ErrorKind.PERMANENT:
            raise Unprocessable(f"business_account_id: Meta refused the business account: {words}",
                                field="business_account_id") from None
        raise NetworkUnreachable(f"Meta could not be asked for the templates ({words}); try again") from None
    now = utcnow()
    with write_transaction():
        Template.delete().where(Template.channel == channel.id).execute()
        for item in listed:
            Template.create(channel=channel.id, name=str(item.get("name", ""))[:512],
                            language=str(item.get("language", ""))[:16],
                            category=str(item.get("category", "")).upper()[:32],
                            status=str(item.get("status", "")).upper()[:32],
                            components=item.get("components") or [], synced_at=now)
        audit.record(audit.CHANNEL, channel.id, "templates synced", count=len(listed))
    return len(listed)


def sync_all(settings) -> int:
    """The scheduler's job: sync every WhatsApp channel that has a business
    account; one that fails is logged and tried again next time. Returns how
    many channels were synced."""
    synced = 0
    for channel in Channel.select().where((Channel.network == "whatsapp") & Channel.enabled
                                          & Channel.business_account_id.is_null(False)):
        try:
            sync(channel, settings)
            synced += 1
        except AppError as exc:
            logger.warning("Templates of channel %d not synced: %s", channel.id, exc.message)
    return synced


def part(template: Template, kind: str) -> dict | None:
    """The template's component of ``kind`` (HEADER, BODY, FOOTER, BUTTONS)."""
    return next((c for c in template.components or () if str(c.get("type", "")).upper() == kind), None)


def variables(text: str) -> list:
    """The distinct variables of a template text, in order of first use."""
    seen = []
    for name in _VARIABLE.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def shape(template: Template) -> dict:
    """What the template takes: ``{"header": "IMAGE"|"VIDEO"|"TEXT"|…|None, "body": n,
    "usable": reason it cannot be chosen, or None}``."""
    header, body = part(template, "HEADER"), part(template, "BODY")
    names = variables((body or {}).get("text", ""))
    reason = None
    if template.status != "APPROVED":
        reason = f"its status is {template.status}: only APPROVED templates can be sent"
    elif names and not all(n.isdigit() for n in names):
        reason = "it has named parameters, which socialpub does not fill yet"
    elif header and variables(header.get("text", "")):
        reason = "its header has a variable, which socialpub does not fill yet"
    elif header and str(header.get("format", "")).upper() not in ("TEXT", *MEDIA_HEADERS):
        reason = (f"its header is a {str(header.get('format')).lower()}, and socialpub sends image and video "
                  f"headers only")
    return {"header": str(header.get("format", "")).upper() if header else None, "body": len(names),
            "usable": reason}


def find(channel_id: int, name: str, language: str) -> Template | None:
    return Template.get_or_none((Template.channel == channel_id) & (Template.name == name)
                                & (Template.language == language))


def filled(value: str, text: str, link: str | None) -> str:
    """A body parameter with ``{text}`` and ``{link}`` replaced; the post's text
    folded onto one line (Meta refuses new lines in a parameter)."""
    one_line = re.sub(r"\s*\n\s*", " · ", text.strip())
    one_line = re.sub(r"[\t ]{2,}", " ", one_line)
    return value.replace("{text}", one_line).replace("{link}", link or "")


def check(choice, channels: list, text: str, link: str | None, has_image: bool, draft: bool = False,
          field: str = "whatsapp", has_video: bool = False) -> dict:
    """A post's WhatsApp choice, checked against each WhatsApp channel's
    synced template; returns it cleaned. None: a free-form message. A
    ``draft``'s choice is checked for its shape only: its template may not be
    synced or approved yet, nor its parameters filled in (checked when it is
    to go out).

    ``field``: where the choice is in the request (``versions.12.whatsapp``
    for one channel's own), the start of every field an error names. The
    audience, when named, must be one of each channel's own audiences.

    Raises:
      InvalidInput: naming the field (``whatsapp.template``, ``whatsapp.body``…).
    """
    if choice is None:
        return None
    if not isinstance(choice, dict):
        raise InvalidInput(f"{field}: an object {{template, language, body, audience}}", field=field)
    unknown = set(choice) - {"template", "language", "body", "audience"}
    if unknown:
        raise InvalidInput(f"{field}: unknown field {sorted(unknown)[0]!r}", field=field)
    name, language = choice.get("template"), choice.get("language")
    audience = choice.get("audience")
    if audience is not None and (not isinstance(audience, str) or not audience.strip()):
        raise InvalidInput(f"{field}.audience: an audience's name, or null for every opted-in contact",
                           field=f"{field}.audience")
    for channel in () if draft or audience is None else channels:
        if not Audience.select().where((Audience.channel == channel.id) & (Audience.name == audience)).exists():
            raise InvalidInput(f"{field}.audience: {channel.name!r} has no audience {audience[:60]!r} "
                               f"(pick one of its own, or every opted-in contact)", field=f"{field}.audience")
    if not name:
        if choice.get("body"):
            raise InvalidInput(f"{field}.template: body parameters need a template", field=f"{field}.template")
        return {"template": None, "language": None, "body": [], "audience": audience}
    if not isinstance(name, str) or not isinstance(language, str) or not language:
        raise InvalidInput(f"{field}.language: a template is named with its language, such as en_US",
                           field=f"{field}.language")
    body = choice.get("body") or []
    if not isinstance(body, list) or not all(isinstance(v, str) for v in body):
        raise InvalidInput(f"{field}.body: a list of texts, one per {{{{n}}}} of the template's body",
                           field=f"{field}.body")
    for channel in () if draft else channels:
        template = find(channel.id, name, language)
        if template is None:
            raise InvalidInput(f"{field}.template: {channel.name!r} has no template {name!r} in {language} "
                               f"(sync its templates, or pick another)", field=f"{field}.template")
        form = shape(template)
        if form["usable"]:
            raise InvalidInput(f"{field}.template: {name!r} cannot be sent: {form['usable']}",
                               field=f"{field}.template")
        if len(body) != form["body"]:
            raise InvalidInput(f"{field}.body: {name!r} takes {form['body']} body parameter(s), "
                               f"{len(body)} given", field=f"{field}.body")
        if form["header"] == "IMAGE" and not has_image:
            raise InvalidInput(f"{field}.template: {name!r} has an image header: add a photo to the post",
                               field=f"{field}.template")
        if form["header"] == "VIDEO" and not has_video:
            raise InvalidInput(f"{field}.template: {name!r} has a video header: add a video to the post",
                               field=f"{field}.template")
        values = [filled(v, text, link) for v in body]
        for number, value in enumerate(values, start=1):
            if not value.strip():
                raise InvalidInput(f"{field}.body: parameter {{{{{number}}}}} is empty", field=f"{field}.body")
            if _BAD_PARAM.search(value):
                raise InvalidInput(f"{field}.body: parameter {{{{{number}}}}} has a new line, a tab or more "
                                   f"than four spaces in a row, which Meta refuses", field=f"{field}.body")
        rendered = render(template, values)
        if len(rendered["body"]) > MAX_BODY:
            raise InvalidInput(f"{field}.body: the filled-in body has {len(rendered['body'])} characters; "
                               f"Meta takes {MAX_BODY}", field=f"{field}.body")
    return {"template": name, "language": language, "body": body, "audience": audience}


def render(template: Template, values: list) -> dict:
    """The message as the recipient sees it: ``{"header", "body", "footer"}``
    (an image header is ``"[image]"``, a video header ``"[video]"``)."""
    header, body, footer = part(template, "HEADER"), part(template, "BODY"), part(template, "FOOTER")

    def fill(text):
        return _VARIABLE.sub(lambda m: values[int(m.group(1)) - 1] if m.group(1).isdigit()
                             and 0 < int(m.group(1)) <= len(values) else m.group(0), text or "")

    shown_header = None
    if header:
        media = header_media(template)
        shown_header = f"[{media}]" if media else header.get("text")
    return {"header": shown_header, "body": fill((body or {}).get("text", "")),
            "footer": (footer or {}).get("text")}


def header_media(template: Template | None) -> str | None:
    """The media the template's header takes — "image", "video" — or None (no header, or text)."""
    header = part(template, "HEADER") if template is not None else None
    return MEDIA_HEADERS.get(str(header.get("format", "")).upper()) if header else None


def message(template: Template, values: list, media_id: str | None) -> dict:
    """The ``template`` object of a send: name, language and the parameters (an
    image or video header names the uploaded media's id)."""
    components = []
    media = header_media(template)
    if media:
        components.append({"type": "header", "parameters": [{"type": media, media: {"id": media_id}}]})
    if values:
        components.append({"type": "body", "parameters": [{"type": "text", "text": v} for v in values]})
    return {"name": template.name, "language": {"code": template.language}, "components": components}


def listed(channel_id: int) -> list:
    """The channel's templates, as the API and the pages show them."""
    return [{"name": t.name, "language": t.language, "category": t.category, "status": t.status,
             **shape(t), "preview": render(t, [f"{{{{{i}}}}}" for i in range(1, shape(t)["body"] + 1)]),
             "synced_at": t.synced_at}
            for t in Template.select().where(Template.channel == channel_id).order_by(Template.name,
                                                                                         Template.language)]
