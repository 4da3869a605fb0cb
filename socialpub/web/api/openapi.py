"""The API described as an OpenAPI 3.1 document, served at /api/openapi.json.

The document is data built from the constants the checks themselves use
(composing, channels, scheduling, the settings' page and body sizes), so a limit
changed there changes here. tests/test_openapi.py keeps its paths and methods
equal to the app's routes, and fuzzes every operation against it (schemathesis).
"""
from __future__ import annotations

import json
from dataclasses import asdict

from flask import jsonify

from ... import __version__
from ...db import MAX_ID
from ...input_checks import MAX_URL
from ...intake.channels import MAX_LENGTHS, MAX_RECIPIENTS
from ...intake.composing import MAX_CHANNELS_PER_POST, MAX_MEDIA_PER_POST, MAX_TEXT
from ...intake.queue_slots import WEEKDAYS
from ...intake.schedule_time import MAX_WHEN, MAX_ZONE
from ...media.images import FORMATS
from ...models import ChannelState, MediaKind, PostStatus, PublicationStatus
from ...networks import LIMITS, NETWORKS, explain
from ...notices import KINDS as NOTICE_KINDS
from ...notices import PAGE as NOTICE_PAGE
from ...people.roles import ROLES
from ...webhooks.events import TYPES
from ..auth import public
from .blueprint import bp
from .helpers import settings
from .posts import MAX_PAGE

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TIME = {"type": "string", "format": "date-time"}
NETWORK = {"type": "string", "enum": list(NETWORKS)}
ROLE = {"type": "string", "enum": list(ROLES)}
EVENT_TYPE = {"type": "string", "enum": list(TYPES)}
NOTICE = {"type": "string", "enum": ["immediately", "digest", "off"]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """``schema``, or null."""
    extra = {"enum": [*schema["enum"], None]} if "enum" in schema else {}
    return {**schema, "type": [schema["type"], "null"], **extra}


def array(items: dict, **limits) -> dict:
    return {"type": "array", "items": items, **limits}


def obj(properties: dict, optional=(), required=None) -> dict:
    """A closed object: every property listed, all of them required unless named in ``optional``."""
    if required is None:
        required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def network_limits() -> dict:
    """What each network takes (text, caption, tags, photos: how many, of which
    types, in which aspect ratios), as composing checks it (networks/*.py)."""
    return {network: json.loads(json.dumps(asdict(LIMITS[network]))) for network in NETWORKS}


def schemas() -> dict:
    publication_fields = {
        "id": INTEGER, "channel_id": INTEGER, "network": NETWORK,
        "status": {"type": "string", "enum": list(PublicationStatus.ALL)},
        "text": {**STRING, "description": "The text as this channel is sent it: its own version, its network's "
                                          "override, or the post's (adapted: the link appended where it is "
                                          "not the network's own field)."},
        "whatsapp": {"anyOf": [ref("WhatsAppMessage"), {"type": "null"}],
                     "description": "A WhatsApp channel's own message (versions.<channel id>.whatsapp); null: "
                                    "the post's whatsapp."},
        "attempts": INTEGER, "retries_used": INTEGER, "rate_limit_waits": INTEGER,
        "task_id": nullable(STRING), "external_id": nullable(STRING), "url": nullable(STRING),
        "container_id": nullable(STRING), "last_error": nullable(STRING),
        "last_error_code": nullable(STRING), "next_attempt_at": nullable(TIME),
        "error_meaning": {**nullable(STRING), "description": "What the last error means and what to do."},
        "failure": {"anyOf": [ref("Failure"), {"type": "null"}],
                    "description": "The failure in plain words, who caused it and its fix; null when none."},
        "ambiguous_since": nullable(TIME), "enqueued_at": nullable(TIME), "started_at": nullable(TIME),
        "published_at": nullable(TIME), "finished_at": nullable(TIME),
        "history": {**array(ref("Attempt")), "description": "Only when one post is shown."},
    }
    status_fields = ("id", "network", "channel_id", "status", "attempts", "published_at", "external_id",
                     "url", "last_error", "last_error_code", "error_meaning", "next_attempt_at", "failure")
    text = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
            "description": "Not blank. Each network's own limits are checked too (422)."}
    url = {**nullable(STRING), "maxLength": MAX_URL,
           "description": "An absolute http(s) URL; empty or null: none."}
    create_post = _create_post_schema(text, url)
    return {
        "Error": obj({"error": obj({
            "code": STRING, "message": {**STRING, "description": "Starts with the field at fault."},
            "field": STRING,
            "details": array(obj({"field": nullable(STRING), "network": NETWORK, "message": STRING,
                                  "channel": {**INTEGER, "description": "The channel whose version it is."}},
                                 optional=("network", "channel")),
                             description="Every problem, when there are several (422)."),
        }, optional=("field", "details"))}),
        "StaleError": obj({"error": obj({
            "code": {"type": "string", "enum": ["stale"]}, "message": STRING, "field": STRING,
            "current_version": {**STRING, "description": "The post's version now: its ETag."},
            "changed": {**array(STRING), "description": "The fields changed since the version sent."},
            "changes": {**array(obj({"at": TIME, "by": STRING, "action": STRING, "fields": array(STRING)})),
                        "description": "What was done since, oldest first (from the post's audit trail)."},
        })}),
        "Failure": obj({
            "sentence": {**STRING, "description": "What happened and what to do, in plain words."},
            "who": {"type": "string", "enum": list(explain.WHO), "description": "Who caused it."},
            "who_label": STRING,
            "fix": {"anyOf": [{"type": "string", "enum": list(explain.FIXES)}, {"type": "null"}],
                    "description": "The one action that fixes it (the page's button), or null."},
            "said_by": {"type": "string", "enum": ["network", "socialpub"],
                        "description": "Whose words last_error holds."}}),
        "Attempt": obj({"number": INTEGER, "started_at": TIME, "finished_at": TIME, "outcome": STRING,
                        "error_code": nullable(STRING), "error": nullable(STRING)}),
        "Publication": obj(publication_fields, optional=("history",)),
        "Post": obj({
            "id": INTEGER, "text": STRING, "image_url": nullable(STRING), "link": nullable(STRING),
            "status": {"type": "string", "enum": list(PostStatus.ALL)},
            "scheduled_at": {**nullable(TIME), "description": "In the zone it was given in."},
            "scheduled_at_utc": nullable(TIME), "timezone": nullable(STRING),
            "created_at": TIME, "updated_at": TIME, "publish_requested_at": nullable(TIME),
            "finished_at": nullable(TIME), "publications": array(ref("Publication")),
            "whatsapp": {"anyOf": [ref("WhatsAppMessage"), {"type": "null"}],
                         "description": "The WhatsApp message: a template and its parameters, the audience."},
            "approval": obj({"asked": {"anyOf": [{"type": "string", "enum": ["publish", "schedule"]},
                                                 {"type": "null"}],
                                       "description": "What an editor asked for, while it awaits approval."},
                             "approved_at": {**nullable(TIME), "description": "Voided by an edit."},
                             "review_comment": {**nullable(STRING), "description": "Why it was rejected."},
                             "split_from": {**nullable(INTEGER),
                                            "description": "The post whose channels that need approval this one "
                                                           "carries, waiting, while the others went out."},
                             "split_to": {**nullable(INTEGER),
                                                 "description": "The post in which this one's channels that need "
                                                                "approval wait, while the others go out."}}),
            "results": {**array(ref("PublishResult")),
                        "description": "Only when created with publish, or approved and published."},
            "note": {**STRING, "description": "Approved after its scheduled time: published at once."},
            "media": {**array(ref("Media")), "description": "The uploaded images, in order (one post only, "
                                                            "not in lists)."},
        }, optional=("results", "media", "note")),
        "PostPage": obj({"items": array(ref("Post")), "page": INTEGER, "per_page": INTEGER,
                         "total": {**INTEGER, "description": "Counted up to 1,000 (then total_capped)."},
                         "total_capped": {"type": "boolean", "description": "More posts match than total says."},
                         "pages": INTEGER,
                         "next": {**nullable(INTEGER), "description": "Give it as `before` for the next page; "
                                                                      "null on the last one."}},
                        optional=("page", "total", "total_capped", "pages")),
        "PostStatus": obj({
            "post_id": INTEGER, "status": {"type": "string", "enum": list(PostStatus.ALL)},
            "by_status": obj({s: INTEGER for s in PublicationStatus.ALL}),
            "publications": array(obj({
                **{f: publication_fields[f] for f in status_fields},
                "channel_needs_reauth": {"type": "boolean",
                                         "description": "Its channel needs re-authorisation: Reconnect, not Retry."}})),
        }),
        "PublishResult": obj({"publication_id": INTEGER, "network": NETWORK,
                              "status": {"type": "string", "enum": ["enqueued"]}, "task_id": STRING}),
        "PublishResults": obj({"post_id": INTEGER, "results": array(ref("PublishResult")),
                               "status": {"type": "string", "enum": [PostStatus.AWAITING],
                                          "description": "When it waits for an admin's approval (no results)."},
                               "waiting_post_id": {**INTEGER, "description": "When only some of its channels need "
                                                   "approval: the post in which they wait (the others are in "
                                                   "results)."}},
                              optional=("status", "waiting_post_id")),
        "Notice": obj({"id": INTEGER, "kind": {"type": "string", "enum": list(NOTICE_KINDS)}, "text": STRING,
                       "post_id": nullable(INTEGER), "channel_id": nullable(INTEGER),
                       "link": {**nullable(STRING), "description": "The page where it is acted on."},
                       "created_at": TIME, "read_at": {**nullable(TIME), "description": "Null: unread."}}),
        "NoticeList": obj({"items": array(ref("Notice")), "unread": INTEGER}),
        "ReadNotices": {**obj({"ids": array(ID, maxItems=NOTICE_PAGE)}, required=[]),
                        "description": "The notices to mark read; without ids, every one."},
        "NoticesRead": obj({"marked": INTEGER, "unread": INTEGER}),
        "Channel": obj({
            "id": INTEGER, "network": NETWORK, "name": STRING, "account_id": STRING, "base_url": STRING,
            "recipients": array(STRING), "api_version": nullable(STRING), "enabled": {"type": "boolean"},
            "business_account_id": {**nullable(STRING), "description": "WhatsApp: the business account (WABA) "
                                                                       "whose templates it sends."},
            "requires_approval": {"type": "boolean", "description": "An editor's post to it waits for approval."},
            "default_country": {**nullable(STRING), "description": "WhatsApp: the country (ISO 3166, such as FR) "
                                "a contact's number written the national way is read in; guessed from the "
                                "channel's own number when it is saved."},
            "send_rate": {**nullable(INTEGER), "description": "WhatsApp: the messages a second this "
                          "number may send (its throughput at Meta); null: WHATSAPP_SEND_RATE."},
            "state": {"type": "string", "enum": list(ChannelState.ALL)}, "state_reason": nullable(STRING),
            "last_published_at": nullable(TIME),
            "queue": {"anyOf": [ref("Queue"), {"type": "null"}], "description": "Its posting times, for Add to queue."},
            "picture_url": {**nullable(STRING), "description": "The account's picture, as its network gives it."},
            "token_expires_at": {**nullable(TIME), "description": "When the token expires, where the network "
                                                                  "said (accounts connected by their OAuth flow)."},
            "token_set": {"type": "boolean", "description": "Tokens are write-only: never shown."},
            "created_at": TIME, "updated_at": TIME,
        }),
        "ChannelList": obj({"items": array(ref("Channel"))}),
        "Queue": obj({"zone": {**STRING, "maxLength": 64, "description": "An IANA time zone."},
                      "slots": array(obj({"weekday": {"type": "string", "enum": list(WEEKDAYS)},
                                          "time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}}),
                                     maxItems=7 * 24)}, required=["slots"]),
        "Media": obj({
            "id": INTEGER, "kind": {"type": "string", "enum": list(MediaKind.ALL)},
            "content_type": {"type": "string", "enum": sorted(FORMATS.values())},
            "width": INTEGER, "height": INTEGER, "bytes": INTEGER,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "original_name": nullable(STRING),
            "created_at": STRING, "url": STRING, "thumbnail_url": STRING,
        }),
        "MediaPage": obj({"items": array(ref("Media")), "next": nullable(STRING)}),
        "CalendarPost": obj({"id": INTEGER, "text": STRING, "status": {"type": "string", "enum": list(PostStatus.ALL)},
                             "at": {**nullable(TIME), "description": "Its time; null for a draft."},
                             "movable": {"type": "boolean", "description": "Scheduled or draft: it may be moved."},
                             "version": {**TIME, "description": "The post's version (its updated_at): a move "
                                                                "made on it is refused once the post changed."},
                             "channels": array(obj({"id": INTEGER, "network": NETWORK, "name": STRING}))}),
        "Calendar": obj({"items": array(ref("CalendarPost")), "truncated": {"type": "boolean"},
                         "drafts": {**array(ref("CalendarPost")), "description": "The latest drafts, to schedule."},
                         "slots": {**array(obj({"at": TIME, "channel": obj({"id": INTEGER, "network": NETWORK,
                                                                              "name": STRING})})),
                                   "description": "The channels' free posting times, from now on."}}),
        "Upload": obj({"file": {"type": "string", "format": "binary", "description":
                                "A JPEG, PNG, WebP or GIF, judged by its content"}}),
        "CsvUpload": obj({"file": {"type": "string", "format": "binary", "description":
                                   "UTF-8 CSV: a header naming the columns (text, networks, channels, "
                                   "scheduled_at, timezone, image_url, link), then one post per line"},
                          "timezone": {**STRING, "description": "The zone of times given without an offset"}},
                         required=["file"]),
        "Imported": obj({"created": INTEGER, "ids": array(INTEGER)}),
        "Bulk": obj({"action": {"type": "string", "enum": ["cancel", "delete", "duplicate"]},
                     "ids": array(ID, minItems=1, maxItems=100)}),
        "BulkResults": obj({"results": array(obj({"id": INTEGER, "ok": {"type": "boolean"}, "error": STRING,
                                                  "new_id": INTEGER}, optional=("error", "new_id")))}),
        "CreatePost": create_post,
        "EditPost": {**obj({k: v for k, v in create_post["properties"].items() if k != "publish"}, required=[]),
                     "minProperties": 1, "description": "The fields to change; {scheduled_at, timezone?} alone "
                                                        "schedules or moves it, scheduled_at null makes it a draft.",
                     "examples": [{"text": "Edited"}, {"scheduled_at": "2027-01-05T09:00:00", "timezone": "UTC"}]},
        "PublishOptions": obj({"image_url": url}, required=[]),
        "User": obj({"id": INTEGER, "email": STRING, "role": ROLE, "disabled": {"type": "boolean"},
                     "created_at": TIME, "last_sign_in_at": nullable(TIME),
                     "notifications": {**obj({"posts": NOTICE, "channels": NOTICE}),
                                       "description": "Only for the caller (/api/me)."}},
                    optional=("notifications",)),
        "ChangeMe": obj({"notifications": obj({"posts": NOTICE, "channels": NOTICE}, required=[])}),
        "UserList": obj({"items": array(ref("User"))}),
        "Webhook": obj({"id": INTEGER, "url": STRING, "description": STRING, "events": array(EVENT_TYPE),
                        "enabled": {"type": "boolean"}, "disabled_reason": nullable(STRING),
                        "failing_since": nullable(TIME), "previous_secret_until": nullable(TIME), "created_at": TIME,
                        "secret": {**STRING, "description": "whsec_…: only in the answer that made or rotated it"}},
                       optional=("secret",)),
        "WebhookList": obj({"items": array(ref("Webhook"))}),
        "CreateWebhook": obj({"url": {**STRING, "maxLength": 2000}, "description": {**STRING, "maxLength": 200},
                              "events": {**array(EVENT_TYPE), "description": "Empty or absent: every event."},
                              "enabled": {"type": "boolean", "default": True}}, required=["url"]),
        "ChangeWebhook": {**obj({"url": {**STRING, "maxLength": 2000}, "description": {**STRING, "maxLength": 200},
                                 "events": array(EVENT_TYPE), "enabled": {"type": "boolean"}}, required=[]),
                          "minProperties": 1},
        "WebhookDelivery": obj({
            "id": INTEGER, "event_type": EVENT_TYPE, "webhook_id": STRING,
            "status": {"type": "string", "enum": ["pending", "sending", "delivered", "failed"]},
            "attempts": INTEGER, "next_attempt_at": nullable(TIME), "last_status_code": nullable(INTEGER),
            "last_error": nullable(STRING), "delivered_at": nullable(TIME), "created_at": TIME,
            "payload": {"type": "object", "description": "The body sent: {type, timestamp, data}."},
            "tries": array(obj({"at": TIME, "status_code": nullable(INTEGER), "duration_ms": INTEGER,
                                "excerpt": nullable(STRING)}))}),
        "WebhookDeliveryList": obj({"items": array(ref("WebhookDelivery"))}),
        "Approve": obj({"seen_updated_at": {**TIME, "description": "The post's updated_at as reviewed"},
                        "seen_image_sha256": {**STRING, "pattern": "^[0-9a-f]{64}$",
                                              "description": "The SHA-256 of the image's copy as reviewed"}},
                       required=[]),
        "Reject": obj({"comment": {**STRING, "minLength": 1, "maxLength": 2000}}),
        "ChangeUser": {**obj({"role": ROLE, "disabled": {"type": "boolean"}}, required=[]), "minProperties": 1},
        "Invite": obj({"email": {**STRING, "format": "email", "maxLength": 254},
                       "role": {**ROLE, "default": "editor"}}, required=["email"]),
        "Invitation": obj({"id": INTEGER, "email": STRING, "role": ROLE, "created_at": TIME, "expires_at": TIME,
                           "link": {**STRING, "description": "The single-use link, in the answer that made it "
                                                             "only, when it was not e-mailed"},
                           "emailed": {"type": "boolean", "description": "Sent to the address (SMTP_URL is set)"}},
                          optional=("link", "emailed")),
        "InvitationList": obj({"items": array(ref("Invitation"))}),
        "Event": obj({"id": INTEGER, "at": TIME, "actor": {**STRING, "description": "An e-mail address, or "
                                                            "\"socialpub\" for its workers and scheduler"},
                      "subject": {"type": "string", "enum": ["post", "channel", "user", "invitation"]},
                      "subject_id": INTEGER, "action": STRING, "detail": {"type": "object"}}),
        "EventList": obj({"items": array(ref("Event"))}),
        "Empty": {**obj({}), "description": "Nothing to give: no body, or {}."},
        **whatsapp_schemas(),
        "CreateChannel": obj({
            "network": NETWORK,
            "account_id": {**STRING, "minLength": 1, "maxLength": MAX_LENGTHS["account_id"],
                           "description": "Digits (a Graph id), or a LinkedIn author URN."},
            "token": {**STRING, "minLength": 1, "maxLength": MAX_LENGTHS["token"]},
            "name": {**nullable(STRING), "maxLength": MAX_LENGTHS["name"]},
            "base_url": {**nullable(STRING), "maxLength": MAX_LENGTHS["base_url"]},
            "recipients": {**nullable(array({**STRING, "pattern": r"^\+?[1-9][0-9 ]{6,20}$"},
                                            maxItems=MAX_RECIPIENTS, uniqueItems=True)),
                           "description": "WhatsApp only: E.164 phone numbers."},
            "api_version": {**nullable(STRING), "maxLength": MAX_LENGTHS["api_version"],
                            "description": "LinkedIn only, such as 202601."},
            "business_account_id": {**nullable(STRING), "maxLength": MAX_LENGTHS["business_account_id"],
                                    "description": "WhatsApp only: the WhatsApp Business Account id (digits)."},
            "default_country": {**nullable({**STRING, "pattern": "^[A-Za-z]{2}$"}),
                                "description": "WhatsApp only: the country (two letters, such as FR) its "
                                               "contacts' national numbers (06 12 34 56 78) are read in; left out, "
                                               "guessed from the number's own country."},
            "send_rate": {**nullable({**INTEGER, "minimum": 1, "maximum": 1000}),
                          "description": "WhatsApp only: the messages a second this number may send — its "
                                         "throughput at Meta (80 by default, 1,000 once upgraded, 20 when shared "
                                         "with the WhatsApp Business app); left out or null: WHATSAPP_SEND_RATE."},
            "enabled": {"type": "boolean", "default": True},
            "requires_approval": {"type": "boolean", "default": False},
        }, required=["network", "account_id", "token"]) | {"examples": [
            {"network": "facebook", "account_id": "546349135390552", "token": "EAAB…"},
            {"network": "whatsapp", "account_id": "106540352242922", "token": "EAAB…",
             "recipients": ["+16505551234"]}]},
    }


def whatsapp_schemas() -> dict:
    """Contacts, templates and recipients (api/whatsapp.py)."""
    phone = {**STRING, "maxLength": 40, "description": "With its country code, or written the national way "
             "(06 12 34 56 78) in the channel's default_country; stored in E.164."}
    user_id = {**STRING, "maxLength": 140, "description": "Meta's business-scoped user id (BSUID), such as "
               "US.13491208655302741918: the one way to know a person whose WhatsApp username hides their number."}
    contact_in = obj({"phone": phone, "user_id": user_id, "name": {**nullable(STRING), "maxLength": 100},
                      "opted_in": {"type": "boolean", "description": "With opt_in_method: they agreed."},
                      "opt_in_method": {**nullable(STRING), "maxLength": 200,
                                        "description": "How they opted in (Meta requires a record)."},
                      "opted_in_at": {**nullable(STRING), "maxLength": 40, "description":
                                      "When they opted in: an ISO 8601 date, or date and time (UTC unless "
                                      "it has an offset); not in the future. Default: now."},
                      "audiences": array({**STRING, "minLength": 1, "maxLength": 100})},
                     required=[]) | {"anyOf": [{"required": ["phone"]}, {"required": ["user_id"]}]}
    template_preview = obj({"header": nullable(STRING), "body": STRING, "footer": nullable(STRING)})
    reach = obj({"members": INTEGER, "opted_out": INTEGER, "without_opt_in": INTEGER,
                 "messaged": {**obj({kind: INTEGER for kind in ("utility", "marketing", "authentication", "free_form")}),
                              "description": "How many a post actually messages (opted in, not opted out, "
                                             "reachable), sent by a template of each category, or free-form: "
                                             "marketing skips +1 numbers, authentication people known only by "
                                             "their user id, free-form those whose 24-hour window is closed."}})
    return {
        "WhatsAppMessage": obj({"template": nullable(STRING), "language": nullable(STRING),
                                "body": array(STRING), "audience": {**nullable(STRING), "description":
                                                                    "An audience's name; null: every opted-in "
                                                                    "contact."}}, required=[]),
        "Contact": obj({"id": INTEGER, "phone": {**nullable(STRING), "description": "null: known by user_id alone."},
                        "user_id": nullable(STRING), "username": nullable(STRING),
                        "shown": {**STRING, "description": "The number, else the username and user id."},
                        "name": nullable(STRING), "opted_in_at": nullable(TIME),
                        "opt_in_method": nullable(STRING), "opt_in_by": nullable(STRING),
                        "opt_in_evidence": {**nullable(STRING), "description": "What proves the consent "
                                            "recorded to lift an opt-out."},
                        "opted_out_at": nullable(TIME), "opt_out_reason": nullable(STRING),
                        "last_inbound_at": {**nullable(TIME), "description": "Their last message: the 24-hour "
                                                                             "window runs from it."},
                        "audiences": array(STRING), "created_at": TIME}),
        "ContactList": obj({"items": array(ref("Contact")),
                            "everyone": {**reach, "description": "Every contact: where a post without an "
                                                                 "audience goes."},
                            "audiences": array({**reach, "properties": {"name": STRING, **reach["properties"]},
                                                "required": ["name", *reach["required"]]})}),
        "NewContacts": {"anyOf": [contact_in, obj({"contacts": array(contact_in, minItems=1, maxItems=10_000)})]},
        "ContactsSaved": obj({"items": array(ref("Contact")), "kept_opted_out": {**array(ref("Contact")),
                              "description": "Those whose opt-in was not recorded: they had opted out, which "
                                             "only they, or a new consent with its evidence, lift."}}),
        "ContactsCsv": obj({"file": {"type": "string", "format": "binary", "description":
                                     "UTF-8 CSV: phone, and optionally name, opt_in_method, opted_in_at, "
                                     "audience"}},
                           required=["file"]),
        "ContactsImported": obj({"saved": INTEGER, "valid": INTEGER,
                                 "problems": array(obj({"line": INTEGER, "message": STRING})),
                                 "kept_opted_out": {**array(obj({"line": INTEGER, "contact": STRING,
                                                                 "message": STRING})), "description":
                                                    "Lines saved without their opt-in: the person had opted out."}}),
        "NewConsent": obj({"opt_in_method": {**STRING, "minLength": 1, "maxLength": 200},
                           "evidence": {**STRING, "minLength": 1, "maxLength": 500, "description":
                                        "What proves it: a signed form's reference, where the message is kept…"},
                           "opted_in_at": {**nullable(STRING), "maxLength": 40, "description":
                                           "When they agreed (ISO 8601); default: now. An opt-out recorded "
                                           "after it stands (409)."}},
                          required=["opt_in_method", "evidence"]),
        "OptOut": obj({"reason": {**nullable(STRING), "maxLength": 500}}, required=[]),
        "Template": obj({"name": STRING, "language": STRING, "category": STRING, "status": STRING,
                         "header": nullable(STRING), "body": {**INTEGER, "description": "Its body's parameters."},
                         "usable": {**nullable(STRING), "description": "Why it cannot be sent; null: it can."},
                         "preview": template_preview, "synced_at": TIME}),
        "TemplateList": obj({"items": array(ref("Template"))}),
        "Recipient": obj({"id": INTEGER, "phone": nullable(STRING), "user_id": nullable(STRING),
                          "to": {**STRING, "description": "The number, else the user id (BSUID) it went to."},
                          "status": {"type": "string", "enum": [
            "pending", "waiting", "sending", "sent", "delivered", "read", "failed", "window_closed", "opted_out",
            "skipped", "unconfirmed"]}, "kind": nullable(STRING), "message_id": nullable(STRING),
            "error_code": nullable(STRING), "error": nullable(STRING), "not_before": nullable(TIME),
            "sent_at": nullable(TIME), "delivered_at": nullable(TIME), "read_at": nullable(TIME),
            "failed_at": nullable(TIME)}),
        "RecipientList": obj({"publication_id": INTEGER, "status": STRING,
                              "counts": {"type": "object", "additionalProperties": INTEGER}, "summary": STRING,
                              "items": array(ref("Recipient"))}),
    }


def whatsapp_paths(channel_id, publication_id) -> dict:
    dry_run = {"name": "dry_run", "in": "query", "schema": {"type": "string", "enum": ["1", "true", "0"]},
               "description": "Check only: report every bad line, save nothing."}
    imported = operation("Import contacts from a CSV file: every bad line is reported (422) and none is saved "
                         "while there is one (editors)", 201, "ContactsImported", 400, 404, 413, 422,
                         params=[channel_id, dry_run])
    imported["responses"]["200"] = imported["responses"]["201"]
    imported["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ref("ContactsCsv")}}}
    return {
        "/api/channels/{channel_id}/contacts": {
            "get": operation("A WhatsApp channel's contacts with their consent (`?audience=` one audience's), "
                             "and its audiences", 200, "ContactList", 404, params=[channel_id, {
                                 "name": "audience", "in": "query", "schema": {**STRING, "maxLength": 100}}]),
            "post": operation("Add contacts, or give known ones a new opt-in and audiences (editors)", 201,
                              "ContactsSaved", 404, body="NewContacts", params=[channel_id]),
        },
        "/api/channels/{channel_id}/contacts/import": {"post": imported},
        "/api/channels/{channel_id}/contacts/{contact_id}/opt_out": {"post": operation(
            "Record that a contact asked not to be messaged (editors)", 200, "Contact", 404, body="OptOut",
            body_required=False, params=[channel_id, path_id("contact_id")])},
        "/api/channels/{channel_id}/contacts/{contact_id}/opt_in": {"post": operation(
            "Record a contact's new consent with its evidence, lifting an earlier opt-out; on the channel's audit "
            "trail (editors)", 200, "Contact", 404, 409, body="NewConsent",
            params=[channel_id, path_id("contact_id")])},
        "/api/channels/{channel_id}/templates": {"get": operation(
            "Its message templates as last synced: category, status, what each takes, a preview", 200,
            "TemplateList", 404, params=[channel_id])},
        "/api/channels/{channel_id}/templates/sync": {"post": operation(
            "Fetch the business account's templates from Meta now (admins)", 200, "TemplateList", 404, 422, 502,
            body="Empty", body_required=False, params=[channel_id])},
        "/api/publications/{publication_id}/recipients": {"get": operation(
            "A WhatsApp publication's recipients: counts by status, each one's message and what Meta said", 200,
            "RecipientList", 404, params=[publication_id])},
    }


def _create_post_schema(text, url) -> dict:
    """A new post's request (each network's limits beside it)."""
    return obj({
        "text": text, "image_url": url, "link": url,
        "media_ids": {**nullable(array({**ID}, uniqueItems=True, maxItems=MAX_MEDIA_PER_POST)),
                      "description": "Uploaded images (POST /api/media), in order; not with image_url."},
        "networks": {**nullable(array(NETWORK, uniqueItems=True)),
                     "description": "Every enabled channel of these networks."},
        "channels": {**nullable(array(ID, maxItems=MAX_CHANNELS_PER_POST, uniqueItems=True)),
                     "description": "Channel ids. With neither this nor networks: every enabled "
                                    "channel."},
        "overrides": {**nullable(obj({n: text for n in NETWORKS}, required=[])),
                      "description": "Another text for a network."},
        "versions": {**nullable({"type": "object", "maxProperties": MAX_CHANNELS_PER_POST,
                                 "propertyNames": {"type": "string", "pattern": "^[0-9]{1,20}$"},
                                 "additionalProperties": obj({
                                     "text": {**text, "description": "This channel's own text."},
                                     "whatsapp": {**ref("WhatsAppMessage"),
                                                  "description": "A WhatsApp channel's own template, parameters "
                                                                 "and audience, checked against its own "
                                                                 "templates and audiences."}},
                                     required=[]) | {"minProperties": 1}}),
                     "description": "Each channel's own version, keyed by the channel's id (one of the post's "
                                    "channels): its text wins over its network's overrides entry, which wins "
                                    "over text; its whatsapp over the post's whatsapp. A bad one is refused "
                                    "naming it (versions.12.text)."},
        "publish": {"type": "boolean", "default": False, "description": "Publish it now, too."},
        "scheduled_at": {**nullable(STRING), "maxLength": MAX_WHEN,
                         "description": "ISO 8601, with an offset or with timezone; within a year. "
                                        "Not with publish."},
        "timezone": {**nullable(STRING), "maxLength": MAX_ZONE, "description": "An IANA name."},
        "whatsapp": {"anyOf": [ref("WhatsAppMessage"), {"type": "null"}],
                     "description": "WhatsApp: an APPROVED template (synced) and one text per {{n}} of its body "
                                    "({text} and {link} stand for the post's); null: free-form, only to contacts "
                                    "whose 24-hour window is open. Checked against the template (400)."},
    }, required=["text"]) | {"x-network-limits": network_limits(), "examples": [
        {"text": "Hello #launch", "image_url": "https://example.com/a.jpg"},
        {"text": "Hello", "networks": ["linkedin"], "publish": True}]}


def error_responses(max_body: int) -> dict:
    said = {
        "Invalid": "Malformed or missing input; the message and `field` name it.",
        "Unauthorized": "No API token, or one that is malformed, unknown or revoked.",
        "Forbidden": "The caller's role (viewer, editor, admin) does not allow it; the message says which "
                     "role it needs.",
        "NotFound": "No such post, publication or channel.",
        "Conflict": "Not possible in the object's current state.",
        "TooLarge": f"The body is larger than {max_body} bytes.",
        "NotJson": "A body not sent as application/json.",
        "Unprocessable": "Well-formed, but it cannot be done: content a network would refuse "
                         "(`details` lists every problem), an unknown channel, a time in the past.",
        "Unavailable": "The database or the queue is unreachable; nothing changed.",
        "NetworkUnreachable": "The network could not be asked (checking a channel's token); nothing was saved.",
    }
    return {**{name: {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
               for name, text in said.items()},
            "Stale": {"description": "The post changed since the version in If-Match: nothing was written; "
                                     "the answer says what changed and gives the current version.",
                      "content": {"application/json": {"schema": ref("StaleError")}}}}


ERROR_NAMES = {400: "Invalid", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 412: "Stale",
               413: "TooLarge", 415: "NotJson", 422: "Unprocessable", 502: "NetworkUnreachable", 503: "Unavailable"}


def operation(summary: str, status: int, schema: str, *errors: int, body=None, body_required=True,
              params=()) -> dict:
    """One operation: ``status`` answers ``schema``; 401 and 503 are always possible,
    and so are 400, 413 and 415 where a body is taken."""
    codes = set(errors) | {401, 403, 503} | ({400, 413, 415} if body else set())
    responses = {str(status): {"description": "OK",
                               "content": {"application/json": {"schema": ref(schema)}}}}
    responses.update({str(code): {"$ref": f"#/components/responses/{ERROR_NAMES[code]}"}
                      for code in sorted(codes)})
    op = {"summary": summary, "parameters": list(params), "responses": responses}
    if body:
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": {"schema": ref(body)}}}
    return op


def with_headers(op: dict, status: str, headers: dict) -> dict:
    """``op`` with ``headers`` on its ``status`` answer."""
    op["responses"][status] = {**op["responses"][status], "headers": headers}
    return op


def upload_operation(cfg) -> dict:
    """POST /api/media: one file as multipart/form-data."""
    op = operation(f"Upload one image (at most {cfg.media_max_bytes} bytes); the same bytes again are the "
                   f"same file (200)", 201, "Media", 400, 413, 415, 422)
    op["responses"]["200"] = op["responses"]["201"]
    op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ref("Upload")}}}
    return op


def binary(summary: str, content_type: str, *params) -> dict:
    op = operation(summary, 200, "Empty", 404, params=params)
    op["responses"]["200"] = {"description": "OK", "content": {
        content_type: {"schema": {"type": "string", "format": "binary"}}}}
    return op


def path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


#: The Idempotency-Key header (see socialpub/intake/idempotency.py).
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "A unique value per request: the same request sent again with it gets the first "
                   "answer instead of being carried out twice (kept 24 h); with another request, 422; "
                   "while the first still runs, 409 with Retry-After. A first request that died holds it "
                   "60 s at most: then the retry carries it out, or answers from the post it had made.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]*[\\x21-\\x7e])?$"},
}


#: A post's version (lifecycle/versions.py), as GET /api/posts/{post_id} gives it.
ETAG = {"ETag": {"description": "The post's version: its updated_at, quoted. Send it as If-Match with an edit.",
                 "schema": {"type": "string"}}}
IF_MATCH = {
    "name": "If-Match", "in": "header", "required": False,
    "description": "The ETag the edit was made on: if the post changed since, 412 and nothing is written. "
                   "Without it (or `*`), the edit is applied to the post as it is when written — accepted so "
                   "that clients from before versions keep working; the fields it names win.",
    "schema": {"type": "string", "maxLength": 100},
}


def document(cfg) -> dict:
    """The OpenAPI document for an app with settings ``cfg``."""
    post_id, publication_id, channel_id = path_id("post_id"), path_id("publication_id"), path_id("channel_id")
    media_id, user_id, endpoint_id = path_id("media_id"), path_id("user_id"), path_id("endpoint_id")
    list_params = [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                                   "default": 1}},
        {"name": "per_page", "in": "query", "schema": {
            "type": "integer", "minimum": 1, "maximum": cfg.max_page_size, "default": cfg.page_size}},
        {"name": "before", "in": "query", "schema": ID,
         "description": "A keyset page: the posts after this one (a page's `next`), without page counts."},
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(PostStatus.ALL)}},
        {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200},
         "description": "Words in the text (case-insensitive; % and _ are literal)."},
        {"name": "channel", "in": "query", "schema": ID, "description": "Posts to this channel."},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"},
         "description": "The post's time (its schedule, else when it was written) on or after this day (UTC)."},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"},
         "description": "… on or before this day."},
    ]
    paths = {
        "/api/openapi.json": {"get": {
            "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/api/posts": {
            "get": operation("Posts, newest first, a page at a time", 200, "PostPage", 400,
                             params=list_params),
            "post": operation("Create a post with one publication per channel; publish or schedule it",
                              201, "Post", 409, 422, body="CreatePost", params=[IDEMPOTENCY_KEY]),
        },
        "/api/posts/bulk": {"post": operation(
            "Cancel, delete or duplicate several posts, each on its own", 200, "BulkResults", 422,
            body="Bulk")},
        "/api/posts/import": {"post": {**operation(
            "Posts from a CSV file: all created in one transaction, or none (a 422 lists every line's "
            "problem)", 201, "Imported", 400, 413, 415, 422),
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": ref("CsvUpload")}}}}},
        "/api/posts/{post_id}": {
            "get": with_headers(operation("A post, its publications and their attempts; its version as the "
                                          "ETag", 200, "Post", 404, params=[post_id]), "200", ETAG),
            "patch": with_headers(operation("Edit a draft or a scheduled post (any field of a new post but "
                                            "publish), or schedule or move it; with If-Match, only if it has "
                                            "not changed since (else 412, saying what changed)", 200, "Post",
                                            404, 409, 412, 422, body="EditPost", params=[post_id, IF_MATCH]),
                                  "200", ETAG),
            "delete": {**operation("Delete a draft, scheduled or failed post (a published one with "
                                   "include_history=true); nothing is deleted on the networks", 204, "Empty",
                                   400, 404, 409, params=[post_id, {
                                       "name": "include_history", "in": "query",
                                       "schema": {"type": "string", "enum": ["true", "false"]}}]),
                       "responses": {"204": {"description": "Deleted"},
                                     **{str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"}
                                        for c in (400, 401, 403, 404, 409, 503)}}},
        },
        "/api/posts/{post_id}/duplicate": {"post": operation(
            "A new draft from any post", 201, "Post", 404, 422, body="Empty", body_required=False,
            params=[post_id])},
        "/api/posts/{post_id}/publish": {"post": operation(
            "Enqueue every pending publication", 202, "PublishResults", 404, 409, 422,
            body="PublishOptions", body_required=False, params=[post_id, IDEMPOTENCY_KEY])},
        "/api/posts/{post_id}/status": {"get": operation(
            "Counts by status and each publication's state", 200, "PostStatus", 404, params=[post_id])},
        "/api/posts/{post_id}/retry": {"post": operation(
            "Send again the failed, expired and unconfirmed publications", 202, "PublishResults", 404, 409,
            422, body="Empty", body_required=False, params=[post_id, IDEMPOTENCY_KEY])},
        "/api/posts/{post_id}/cancel": {"post": operation(
            "Take a scheduled post back to draft, or withdraw a request for approval", 200, "Post", 404, 409,
            body="Empty", body_required=False, params=[post_id])},
        "/api/posts/{post_id}/approve": {"post": operation(
            "Approve a post awaiting approval (admins): published at once (`results`), or scheduled at its "
            "time — at once when that time has passed (`note` says so); with `seen_updated_at`, a post "
            "changed since it was reviewed is a 409; so is an image_url not yet fetched into the media store, "
            "one that could not be, or (`seen_image_sha256`) another copy than the one reviewed", 200, "Post", 404, 409, 422,
            body="Approve", body_required=False, params=[post_id])},
        "/api/posts/{post_id}/reject": {"post": operation(
            "Send a post awaiting approval back to its editor as a draft, saying why (admins)", 200, "Post",
            404, 409, body="Reject", params=[post_id])},
        "/api/publications/{publication_id}/retry": {"post": operation(
            "Send one failed, expired or unconfirmed publication again", 202, "PublishResults", 404, 409,
            422, body="Empty", body_required=False, params=[publication_id, IDEMPOTENCY_KEY])},
        "/api/channels": {
            "get": operation("Every channel (tokens never shown)", 200, "ChannelList"),
            "post": operation("Connect an account, checked with its network first (one read call with "
                              "its token)", 201, "Channel", 422, 502, body="CreateChannel"),
        },
        "/api/channels/{channel_id}": {"get": operation("One channel", 200, "Channel", 404,
                                                        params=[channel_id])},
        "/api/channels/{channel_id}/queue": {"put": operation(
            "Set its posting times (no slot: none)", 200, "Channel", 404, body="Queue", params=[channel_id])},
        "/api/posts/{post_id}/queue": {"post": operation(
            "Schedule it at its channels' next free posting time", 200, "Post", 404, 409, 422,
            body="Empty", body_required=False, params=[post_id])},
        "/api/media": {
            "get": operation("The media library, newest first", 200, "MediaPage", 400, params=[
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": cfg.max_page_size}},
                {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                             "maximum": 10**18 - 1}}]),
            "post": upload_operation(cfg),
        },
        "/api/media/{media_id}": {
            "get": operation("One media file", 200, "Media", 404, params=[media_id]),
            "delete": {**operation("Delete a file no post uses", 204, "Empty", 404, 409, params=[media_id]),
                       "responses": {"204": {"description": "Deleted"},
                                     **{str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"}
                                        for c in (401, 403, 404, 409, 503)}}},
        },
        "/api/calendar": {"get": operation(
            "The posts of a window (scheduled ones at their time, those published without a schedule when "
            "asked) and the latest drafts", 200, "Calendar", 400, params=[
                {"name": name, "in": "query", "required": True,
                 "schema": {"type": "string", "format": "date-time", "maxLength": 40},
                 "description": "An ISO 8601 instant with its offset; at most 62 days apart."}
                for name in ("from", "to")])},
        "/api/media/{media_id}/file": {"get": binary("The file's bytes", "image/*", media_id)},
        "/api/me": {"get": operation("The caller: e-mail address, role (a token acts with its user's role) and "
                                     "what they are told by e-mail", 200, "User"),
                    "patch": operation("Choose what to be told by e-mail: `notifications` {posts, channels}, each "
                                       "immediately, digest (hourly) or off", 200, "User", body="ChangeMe")},
        "/api/notices": {"get": operation(
            "The caller's newest notices (at most 100: needs your approval, rejected, failed, partly failed, "
            "reconnect) and how many are unread", 200, "NoticeList", 400,
            params=[{"name": "unread", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["1", "true"]}, "description": "Only the unread ones."}])},
        "/api/notices/read": {"post": operation(
            "Mark the caller's notices read (`ids`), or all of them", 200, "NoticesRead", body="ReadNotices",
            body_required=False)},
        "/api/users": {"get": operation("The team (admins)", 200, "UserList")},
        "/api/users/{user_id}": {"patch": operation(
            "Change a user's role, or disable them (their sessions end and tokens stop at once) or enable them "
            "(admins; the last admin stays one)", 200, "User", 404, 409, body="ChangeUser", params=[user_id])},
        "/api/users/{user_id}/reset": {"post": operation(
            "Sign a user out everywhere, revoke their tokens, clear their password; `link` (shown once) lets "
            "them set a new one (admins)", 201, "Invitation", 404, 409, body="Empty", body_required=False,
            params=[user_id])},
        "/api/invitations": {
            "get": operation("Open invitations (admins)", 200, "InvitationList"),
            "post": operation("Invite someone by e-mail address: `link` (shown once) works once, for 7 days "
                              "(admins)", 201, "Invitation", 409, body="Invite"),
        },
        "/api/invitations/{invitation_id}": {"delete": {**operation(
            "Withdraw an invitation: its link stops working (admins)", 204, "Empty", 404,
            params=[path_id("invitation_id")]), "responses": {"204": {"description": "Withdrawn"}, **{
                str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"} for c in (401, 403, 404, 503)}}}},
        "/api/webhooks": {
            "get": operation("Outcome webhook endpoints (admins)", 200, "WebhookList"),
            "post": operation("Add an endpoint; the answer's `secret` (whsec_…) is shown this once; an address "
                              "written as such (or `localhost`) that deliveries may not reach — not public and "
                              "not in OUTBOUND_ALLOW_NETWORKS — is a 422 naming `url` and the setting (admins)", 201,
                              "Webhook", 422, body="CreateWebhook"),
        },
        "/api/webhooks/{endpoint_id}": {
            "get": operation("One endpoint (admins)", 200, "Webhook", 404, params=[endpoint_id]),
            "patch": operation("Change its URL, events, description, or turn it on or off (admins)", 200, "Webhook",
                               404, 422, body="ChangeWebhook", params=[endpoint_id]),
            "delete": {**operation("Delete it with its delivery log (admins)", 204, "Empty", 404,
                                   params=[endpoint_id]),
                       "responses": {"204": {"description": "Deleted"}, **{
                           str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"} for c in (401, 403, 404, 503)}}},
        },
        "/api/webhooks/{endpoint_id}/rotate": {"post": operation(
            "A new signing secret (in the answer, this once); the previous one also signs for 24 h; 409 while an "
            "earlier rotation's previous secret still signs (admins)", 200,
            "Webhook", 404, 409, body="Empty", body_required=False, params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/revoke_previous": {"post": operation(
            "Stop signing with the previous secret now, before its 24 h end (a leaked secret: rotate, then this); "
            "409 when no previous secret signs (admins)", 200,
            "Webhook", 404, 409, body="Empty", body_required=False, params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/test": {"post": operation(
            "Send the endpoint a signed `webhook.test` event (to it alone, whatever events it takes), through the "
            "outbox like every event; the answer is its delivery, also in the delivery log; 409 when the endpoint "
            "is turned off (admins)", 202, "WebhookDelivery", 404, 409, body="Empty", body_required=False,
            params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/deliveries": {"get": operation(
            "The latest 50 deliveries, newest first, each with its tries (admins)", 200, "WebhookDeliveryList", 404,
            params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend": {"post": operation(
            "Send a delivery again now, with the same webhook-id (admins)", 202, "WebhookDelivery", 404, 409,
            body="Empty", body_required=False, params=[endpoint_id, path_id("delivery_id")])},
        "/api/posts/{post_id}/events": {"get": operation(
            "The post's audit trail: who did what and when, oldest first (kept after the post is deleted)",
            200, "EventList", 404, params=[post_id])},
        "/api/channels/{channel_id}/events": {"get": operation(
            "The channel's audit trail (admins)", 200, "EventList", 404, params=[channel_id])},
        "/api/users/{user_id}/events": {"get": operation(
            "The user's audit trail (admins)", 200, "EventList", 404, params=[user_id])},
        "/api/media/{media_id}/thumbnail": {"get": binary("A JPEG thumbnail, at most 320 px", "image/jpeg",
                                                          media_id)},
        **whatsapp_paths(channel_id, publication_id),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "socialpub API", "version": __version__,
            "description": "Publish one post to Facebook Pages, Instagram, LinkedIn and WhatsApp. Every "
                           "error is `{\"error\": {\"code\", \"message\", \"field\"}}`; a refused request "
                           "writes nothing. Send `Authorization: Bearer <token>` (a token from the "
                           "account page); a signed-in browser session may only read.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "responses": error_responses(cfg.max_body_bytes),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "An API token, made on the account page."}},
        },
        "security": [{"bearerAuth": []}],
    }


@bp.get("/openapi.json")
@public
def openapi_document():
    """This API's OpenAPI document (no token needed)."""
    return jsonify(document(settings()))
