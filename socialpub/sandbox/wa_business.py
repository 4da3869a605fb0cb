"""Meta's side of WhatsApp beyond one message: the business account's
templates (``GET /{waba-id}/message_templates``), template sends checked
against them (an image or video header by a link or by the id of an upload of
its kind; the uploads inspected at ``/_sandbox/whatsapp/media``), each
person's 24-hour window and opt-out, and the ``messages``
webhook — signed status notifications (sent → delivered → read, or failed)
POSTed to the app, in order or shuffled and doubled, and inbound messages.

Webhooks are in Meta's current shape: every person is named by their
business-scoped user id (``contacts[].user_id``, ``from_user_id``,
``recipient_user_id``), and the number of a person who took a username
(``/_sandbox/whatsapp/usernames``) is left out, as Meta withholds it.

Steered through ``/_sandbox/whatsapp/*`` and the ``whatsapp`` settings of
``/_sandbox/config`` (``windows``, ``statuses``, ``webhook_url``,
``app_secret``, ``refuse``, ``undeliverable``, ``limit_reached``, ``throughput``:
a number's messages a second, beyond which its sends are refused with 130429).
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
import random
import re
import threading
import time

import requests
from flask import Blueprint, g, jsonify, request

from .common import bearer_token, is_bad_token, state
from .errors import graph_error, graph_token_error

logger = logging.getLogger(__name__)

bp = Blueprint("wa_business", __name__)
control = Blueprint("wa_control", __name__, url_prefix="/_sandbox/whatsapp")

_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
#: The header formats a send fills with media, as the sandbox checks them.
MEDIA_FORMATS = ("IMAGE", "VIDEO")


def world():
    return state().whatsapp


def digits(number: str) -> str:
    return "".join(ch for ch in str(number) if ch.isdigit())


# -- the Graph endpoint ----------------------------------------------------------------------

@bp.get("/<gv:version>/<waba_id>/message_templates")
def message_templates(version, waba_id):
    """The business account's templates, a page at a time (``limit``, ``after``)."""
    token = request.args.get("access_token") or bearer_token() or ""
    if not token or is_bad_token(token):
        return graph_token_error("whatsapp", token)
    limit = min(max(request.args.get("limit", 25, type=int), 1), 100)
    start = int(request.args.get("after") or 0) if (request.args.get("after") or "0").isdigit() else 0
    wanted = [f for f in (request.args.get("fields") or "").split(",") if f] or None
    with world().lock:
        listed = copy.deepcopy(world().templates)
    page = listed[start:start + limit]
    data = [{k: v for k, v in t.items() if wanted is None or k in wanted or k == "id"} for t in page]
    body = {"data": data, "paging": {"cursors": {"before": str(start), "after": str(start + len(page))}}}
    if start + limit < len(listed):
        body["paging"]["next"] = (f"{request.base_url}?limit={limit}&after={start + len(page)}"
                                  + (f"&fields={request.args['fields']}" if wanted else ""))
    return jsonify(body)


def template_refusal(body: dict):
    """None when the template send fits an APPROVED template; else Meta's error answer."""
    part = body.get("template")
    if not isinstance(part, dict) or not part.get("name") or not isinstance(part.get("language"), dict):
        return graph_error("whatsapp", 400, 100, "(#100) Invalid parameter",
                           details="template['name'] and template['language']['code'] are required")
    name, language = part["name"], part["language"].get("code")
    template = world().template(name, language)
    if template is None or template["status"] != "APPROVED":
        return graph_error("whatsapp", 400, 132001, "(#132001) Template name does not exist in the translation",
                           details=f"template name ({name}) does not exist in {language}")
    given = {str(c.get("type", "")).lower(): c.get("parameters") or []
             for c in part.get("components") or () if isinstance(c, dict)}
    header = next((c for c in template["components"] if c["type"].upper() == "HEADER"), None)
    media = str((header or {}).get("format", "")).lower() if (header or {}).get("format") in MEDIA_FORMATS else None
    if given.get("header") and media is None and not _VARIABLE.search((header or {}).get("text", "")):
        # A header parameter for a template whose header takes none (no header, or a fixed text).
        return graph_error("whatsapp", 400, 132000, "(#132000) Number of parameters does not match the "
                           "expected number of params",
                           details=f"header: number of localizable_params ({len(given['header'])}) does not match "
                                   f"the expected number of params (0)")
    refusal = _header_refusal(media, given.get("header") or []) if media else None
    if refusal is not None:
        return refusal
    for component in template["components"]:
        if component["type"].lower() == "body":
            expected = len(set(_VARIABLE.findall(component.get("text", ""))))
            params = given.get("body") or []
            if len(params) != expected:
                return graph_error("whatsapp", 400, 132000, "(#132000) Number of parameters does not match the "
                                   "expected number of params",
                                   details=f"body: number of localizable_params ({len(params)}) does not match "
                                           f"the expected number of params ({expected})")
            for param in params:
                text = param.get("text") if isinstance(param, dict) else None
                if not isinstance(text, str) or re.search(r"[\n\t]| {5,}", text):
                    return graph_error("whatsapp", 400, 100, "(#100) Invalid parameter",
                                       details="Param text cannot have new-line/tab characters or more than 4 "
                                               "consecutive spaces")
    return None


def _header_refusal(media: str, params: list):
    """None when a template send's header parameter is the ``media`` ("image",
    "video") its template's header takes, named by a link or by the id of an
    upload of that kind; else Meta's answer (132012, 131053)."""
    first = params[0] if params and isinstance(params[0], dict) else {}
    given = first.get(media) if first.get("type") == media else None
    if not isinstance(given, dict) or not (given.get("id") or given.get("link")):
        received = str(first.get("type") or "unknown").upper()
        return graph_error("whatsapp", 400, 132012,
                           "(#132012) Parameter format does not match format in the created template",
                           details=f"header: Format mismatch, expected {media.upper()}, received {received}")
    if given.get("id"):
        upload = state().get("uploads", f"wa-media:{given['id']}")
        if upload is None:
            return media_upload_error(f"media id {given['id']} was not uploaded")
        if upload.get("kind", "image") != media:
            return media_upload_error(f"media id {given['id']} is an uploaded {upload.get('kind', 'image')}; "
                                      f"the header takes a {media}")
    return None


def media_upload_error(details: str):
    """Meta's 131053: a media file it cannot take (too large, not of its type, not the kind named)."""
    return graph_error("whatsapp", 400, 131053, "(#131053) Media upload error", details=details)


def rendered(body: dict) -> str:
    """A template send's body text as the recipient sees it."""
    part = body["template"]
    template = world().template(part["name"], part["language"]["code"])
    values = [p.get("text", "") for c in part.get("components") or () if str(c.get("type")).lower() == "body"
              for p in c.get("parameters") or ()]
    text = next((c.get("text", "") for c in template["components"] if c["type"] == "BODY"), "")
    return _VARIABLE.sub(lambda m: values[int(m.group(1)) - 1] if m.group(1).isdigit()
                         and int(m.group(1)) <= len(values) else m.group(0), text)


#: 131064's answer. Its title and details are the sandbox's words; the code and the 400 are what socialpub reads.
LIMIT_REACHED = ("(#131064) Messaging limit reached", 400, "Message failed to send because this phone number "
                 "reached its messaging limit after template quality violations.")


#: What Meta answers a send it refuses at once, by code: its message (with the title), HTTP status and details.
REFUSALS = {131056: ("(#131056) (Business Account, Consumer Account) pair rate limit hit", 400,
                     "Message failed to send because there were too many messages sent from this phone number "
                     "to the same phone number in a short period of time."),
            130429: ("(#130429) Rate limit hit", 429, "Cloud API message throughput has been reached."),
            131026: ("(#131026) Message Undeliverable", 400, "Unable to deliver message."),
            131021: ("(#131021) Recipient cannot be sender", 400, "Sender and recipient phone number is the same."),
            131049: ("(#131049) This message was not delivered to maintain healthy ecosystem engagement.", 400,
                     "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."),
            131064: LIMIT_REACHED}


def refusal(code: int):
    """Meta's answer refusing a send with ``code``."""
    message, status, details = REFUSALS.get(int(code), (f"(#{code}) Error", 400, "refused by the sandbox"))
    return graph_error("whatsapp", status, int(code), message, details=details)


def refusal_for(to: str):
    """A synchronous error configured for this recipient (``refuse``: {number: code})."""
    code = (state().setting("whatsapp", "refuse") or {}).get(digits(to))
    return None if code is None else refusal(code)


def throughput_refusal(phone_id: str):
    """130429 for a send beyond the number's ``throughput`` in the second it came, else None (it is counted)."""
    if state().count_message(phone_id, g.started_at, g.sandbox_epoch):
        return None
    return refusal(130429)


def limit_refusal(phone_id: str):
    """131064 for every send of a number in ``limit_reached``, whoever it is to."""
    if phone_id not in (state().setting("whatsapp", "limit_reached") or ()):
        return None
    return refusal(131064)


def after_accept(phone_id: str, wamid: str, to: str, kind: str, callback: str | None, by_user_id: bool = False):
    """What Meta says later of an accepted message: the statuses the webhook
    will carry (a free-form message outside the window, or to an opted-out or
    undeliverable number, fails). ``by_user_id``: it was sent to the person's
    BSUID (``recipient``) rather than to their number."""
    number = digits(to)
    failure = None
    if kind in ("text", "image", "video") and state().setting("whatsapp", "windows") == "inbound" \
            and not world().window_open(number):
        failure = (131047, "Re-engagement message", "Message failed to send because more than 24 hours have "
                   "passed since the customer last replied to this number.")
    elif number in world().opted_out and kind == "template":
        failure = (131050, "Unable to deliver the message. This recipient has chosen to stop receiving "
                   "marketing messages on WhatsApp from your business.", None)
    elif number in (state().setting("whatsapp", "undeliverable") or ()):
        failure = (131026, "Message undeliverable", "Message Undeliverable.")
    base = {"id": wamid, "recipient_id": number, "phone_number_id": phone_id,
            "recipient_user_id": world().user_id(number), "by_user_id": by_user_id,
            "username": world().hidden(number)}
    if callback:
        base["biz_opaque_callback_data"] = callback
    steps = (["failed"] if failure else ["sent", "delivered", "read"])
    notices = [dict(base, status=s, failure=failure if s == "failed" else None) for s in steps]
    mode = state().setting("whatsapp", "statuses")
    if mode == "manual":
        with world().lock:
            world().pending.extend(notices)
    elif mode == "auto" and state().setting("whatsapp", "webhook_url"):
        threading.Thread(target=_post_in_order, args=(state(), notices), daemon=True).start()


def _status_value(notice: dict) -> dict:
    """One status as Meta sends it: the number left out when it was sent to the
    BSUID of someone whose username hides it; the BSUID left out of a failure
    of a message sent to the number."""
    status = {"id": notice["id"], "status": notice["status"], "timestamp": str(int(time.time()))}
    if not (notice.get("by_user_id") and notice.get("username")):
        status["recipient_id"] = notice["recipient_id"]
    if notice.get("recipient_user_id") and (notice["status"] != "failed" or notice.get("by_user_id")):
        status["recipient_user_id"] = notice["recipient_user_id"]
    if notice.get("biz_opaque_callback_data"):
        status["biz_opaque_callback_data"] = notice["biz_opaque_callback_data"]
    if notice["status"] in ("sent", "delivered"):
        status["conversation"] = {"id": "c" + notice["id"][-12:], "origin": {"type": "marketing"}}
        status["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "marketing"}
    if notice.get("failure"):
        code, title, details = notice["failure"]
        error = {"code": code, "title": title, "message": title}
        if details:
            error["error_data"] = {"details": details}
        status["errors"] = [error]
    return status


def _status_contacts(notice: dict) -> list:
    """The ``contacts`` beside a status: none for a failure; the BSUID, the
    number where Meta shows it, the username on delivered and read."""
    if notice["status"] == "failed" or not notice.get("recipient_user_id"):
        return []
    contact = {"user_id": notice["recipient_user_id"]}
    if not (notice.get("by_user_id") and notice.get("username")):
        contact["wa_id"] = notice["recipient_id"]
    if notice.get("username") and notice["status"] in ("delivered", "read"):
        contact["profile"] = {"username": notice["username"]}
    return [contact]


def status_envelope(notice: dict) -> dict:
    return envelope(notice["phone_number_id"], [_status_value(notice)], contacts=_status_contacts(notice))


def envelope(phone_id: str, statuses=(), messages=(), contacts=()) -> dict:
    """The ``messages`` webhook's body."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_id}}
    if contacts:
        value["contacts"] = list(contacts)
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["messages"] = list(messages)
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}


def post_webhook(sandbox, body: dict) -> int | None:
    """POST ``body`` signed with the app secret (``X-Hub-Signature-256``); the answer's status."""
    url, secret = sandbox.setting("whatsapp", "webhook_url"), sandbox.setting("whatsapp", "app_secret") or ""
    if not url:
        return None
    raw = json.dumps(body, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    try:
        return requests.post(url, data=raw, timeout=10, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signature,
            "User-Agent": "facebookexternalua"}).status_code
    except requests.RequestException as exc:
        logger.warning("Sandbox: the status webhook to %s failed: %s", url, exc)
        return None


def _post_in_order(sandbox, notices):
    for notice in notices:
        post_webhook(sandbox, status_envelope(notice))


# -- /_sandbox/whatsapp ------------------------------------------------------------------------

@control.post("/flush")
def flush():
    """POST the statuses waiting (``statuses: "manual"``), one notification each;
    ``{"shuffle": true}`` sends them in any order, ``{"duplicate": 0.2}`` a
    fifth of them twice. Answers how many went and the answers' statuses."""
    options = request.get_json(force=True, silent=True) or {}
    with world().lock:
        notices, world().pending = world().pending, []
    if options.get("duplicate"):
        notices += [n for n in notices if random.random() < float(options["duplicate"])]
    if options.get("shuffle"):
        random.shuffle(notices)
    answers = [post_webhook(state(), status_envelope(n)) for n in notices]
    return jsonify(sent=len(notices), answers=sorted({str(a) for a in answers}))


@control.get("/media/<media_id>")
def media(media_id):
    """One upload of ``POST /{phone-number-id}/media``: its ``kind`` (image,
    video), ``content_type``, ``sha256``, ``bytes`` and the number that made it."""
    upload = state().get("uploads", f"wa-media:{media_id}")
    if upload is None or upload.get("network") != "whatsapp":
        return jsonify(error={"message": f"no WhatsApp media {media_id[:40]!r} was uploaded"}), 404
    return jsonify({**{k: v for k, v in upload.items() if k not in ("owner", "network")},
                    "phone_number_id": upload["owner"]})


@control.get("/media")
def media_count():
    """How many WhatsApp uploads there were: ``?sha256=`` of those bytes, ``?kind=video``."""
    sha256, kind = request.args.get("sha256"), request.args.get("kind")
    count = state().count("uploads", lambda u: u.get("network") == "whatsapp" and sha256 in (None, u.get("sha256"))
                          and kind in (None, u.get("kind")))
    return jsonify(count=count)


@control.get("/pending")
def pending():
    with world().lock:
        return jsonify(list(world().pending))


@control.post("/inbound")
def inbound():
    """A person writes to the business: ``{"from": number, "text": …,
    "phone_number_id": …}`` (or ``"user_id"``: their BSUID instead of the
    number) opens their 24-hour window and is POSTed to the app — without
    the number when they hide it behind a username."""
    body = request.get_json(force=True, silent=True) or {}
    number = digits(body.get("from", "")) or world().number_for(str(body.get("user_id") or ""))
    if not number:
        return jsonify(error={"message": "from: a phone number (or user_id: a BSUID the sandbox gave)"}), 400
    with world().lock:
        world().windows[number] = time.time()
    phone_id = str(body.get("phone_number_id") or "106540352242922")
    state().count_message(phone_id, time.time(), state().epoch, refuse=False)  # Meta's throughput counts it too
    user_id, username = world().user_id(number), world().hidden(number)
    message = {"from_user_id": user_id, "id": state().new_wamid(), "timestamp": str(int(time.time())),
               "type": "text", "text": {"body": str(body.get("text") or "Hi")}}
    contact = {"profile": {"name": "Sandbox person"}, "user_id": user_id}
    if username:
        contact["profile"]["username"] = username
    else:
        message["from"] = contact["wa_id"] = number
    answer = post_webhook(state(), envelope(phone_id, messages=[message], contacts=[contact]))
    return jsonify(opened=number, user_id=user_id, answer=answer)


@control.post("/usernames")
def usernames():
    """``{"numbers": {number: username}}`` (or a list: usernames made up) take
    WhatsApp usernames: webhooks then leave their numbers out. Answers each
    one's BSUID, by which the business can still write to them."""
    body = request.get_json(force=True, silent=True) or {}
    given = body.get("numbers")
    if isinstance(given, list):
        given = {n: f"sandbox_{digits(n)[-4:]}" for n in given}
    if not isinstance(given, dict) or not all(isinstance(n, str) and digits(n) for n in given):
        return jsonify(error={"message": "numbers: phone numbers, or {number: username}"}), 400
    with world().lock:
        world().usernames.update({digits(n): str(u)[:35] for n, u in given.items()})
    return jsonify(user_ids={n: world().user_id(digits(n)) for n in given})


@control.post("/opt_out")
def opt_out():
    """``{"numbers": [...]}`` stop accepting marketing messages (template sends then fail with 131050)."""
    body = request.get_json(force=True, silent=True) or {}
    with world().lock:
        world().opted_out |= {digits(n) for n in body.get("numbers") or ()}
    return jsonify(opted_out=sorted(world().opted_out))


@control.post("/templates")
def set_templates():
    """Replace the business account's templates with ``{"templates": [...]}``."""
    body = request.get_json(force=True, silent=True) or {}
    if not isinstance(body.get("templates"), list):
        return jsonify(error={"message": "templates: a list"}), 400
    with world().lock:
        world().templates = copy.deepcopy(body["templates"])
    return jsonify(count=len(body["templates"]))
