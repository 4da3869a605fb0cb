"""The API described as an OpenAPI 3.1 document, served at /api/openapi.json.

The document is data built from the constants the checks themselves use
(composing, channels, scheduling, the settings' page and body sizes), so a limit
changed there changes here. tests/web/test_openapi.py keeps its paths and methods
equal to the app's routes, and fuzzes every operation against it (schemathesis).
"""
from __future__ import annotations

from flask import jsonify

from ... import __version__
from ...db import MAX_ID
from ...models import PostStatus
from .. import shapes
from ..auth import public
from .blueprint import bp
from .helpers import settings
from .posts import MAX_PAGE

STRING = {"type": "string"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def ref(shape) -> dict:
    return {"$ref": f"#/components/schemas/{shapes.name_of(shape)}"}


def whatsapp_paths(channel_id, publication_id) -> dict:
    dry_run = {"name": "dry_run", "in": "query", "schema": {"type": "string", "enum": ["1", "true", "0"]},
               "description": "Check only: report every bad line, save nothing."}
    imported = operation("Import contacts from a CSV file: every bad line is reported (422) and none is saved "
                         "while there is one (editors)", 201, shapes.ContactsImported, 400, 404, 413, 422,
                         params=[channel_id, dry_run])
    imported["responses"]["200"] = imported["responses"]["201"]
    imported["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ref(shapes.ContactsCsv)}}}
    return {
        "/api/channels/{channel_id}/contacts": {
            "get": operation("A WhatsApp channel's contacts with their consent (`?audience=` one audience's), "
                             "and its audiences", 200, shapes.ContactList, 404, params=[channel_id, {
                                 "name": "audience", "in": "query", "schema": {**STRING, "maxLength": 100}}]),
            "post": operation("Add contacts, or give known ones a new opt-in and audiences (editors)", 201,
                              shapes.ContactsSaved, 404, body=shapes.NewContacts, params=[channel_id]),
        },
        "/api/channels/{channel_id}/contacts/import": {"post": imported},
        "/api/channels/{channel_id}/contacts/{contact_id}/opt_out": {"post": operation(
            "Record that a contact asked not to be messaged (editors)", 200, shapes.Contact, 404, body=shapes.OptOut,
            body_required=False, params=[channel_id, path_id("contact_id")])},
        "/api/channels/{channel_id}/contacts/{contact_id}/opt_in": {"post": operation(
            "Record a contact's new consent with its evidence, lifting an earlier opt-out; on the channel's audit "
            "trail (editors)", 200, shapes.Contact, 404, 409, body=shapes.NewConsent,
            params=[channel_id, path_id("contact_id")])},
        "/api/channels/{channel_id}/templates": {"get": operation(
            "Its message templates as last synced: category, status, what each takes, a preview", 200,
            shapes.TemplateList, 404, params=[channel_id])},
        "/api/channels/{channel_id}/templates/sync": {"post": operation(
            "Fetch the business account's templates from Meta now (admins)", 200, shapes.TemplateList, 404, 422, 502,
            body=shapes.Empty, body_required=False, params=[channel_id])},
        "/api/publications/{publication_id}/recipients": {"get": operation(
            "A WhatsApp publication's recipients: counts by status, each one's message and what Meta said", 200,
            shapes.RecipientList, 404, params=[publication_id])},
    }


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
        "TusVersion": "An upload in parts sent without 'Tus-Resumable: 1.0.0', the tus version this server speaks.",
    }
    return {**{name: {"description": text, "content": {"application/json": {"schema": ref(shapes.Error)}}}
               for name, text in said.items()},
            "Stale": {"description": "The post changed since the version in If-Match: nothing was written; "
                                     "the answer says what changed and gives the current version.",
                      "content": {"application/json": {"schema": ref(shapes.StaleError)}}}}


ERROR_NAMES = {400: "Invalid", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 412: "Stale",
               413: "TooLarge", 415: "NotJson", 422: "Unprocessable", 502: "NetworkUnreachable", 503: "Unavailable"}


def operation(summary: str, status: int, schema, *errors: int, body=None, body_required=True,
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


def csv_export(period: list, channels: dict) -> dict:
    """GET /api/analytics/export: a period's items as CSV."""
    op = operation("The period's items and their latest numbers as CSV, one line each (an empty cell: not "
                   "available)", 200, shapes.Empty, 400, params=[*period, channels])
    op["responses"]["200"] = {"description": "CSV with a header line", "content": {"text/csv": {
        "schema": {"type": "string"}}}}
    return op


def upload_operation(cfg) -> dict:
    """POST /api/media: one file as multipart/form-data."""
    op = operation(f"Upload one image (at most {cfg.media_max_bytes} bytes) or one MP4 or MOV video (at most "
                   f"{cfg.media_video_max_bytes} bytes); the same bytes again are the same file (200)", 201,
                   shapes.Media, 400, 413, 415, 422)
    op["responses"]["200"] = op["responses"]["201"]
    op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ref(shapes.Upload)}}}
    return op


def upload_paths(cfg) -> dict:
    """An upload in parts, by the tus protocol (web/resumable.py): begin, append a part, abandon.
    ``HEAD /api/uploads/{upload_id}`` (implicit here, as every HEAD) answers its ``Upload-Offset``."""
    tus = {"name": "Tus-Resumable", "in": "header", "required": True,
           "schema": {"type": "string", "enum": ["1.0.0"]}, "description": "The tus protocol's version."}
    upload_id = {"name": "upload_id", "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"}}
    offset_header = {"Upload-Offset": {"schema": {"type": "integer", "minimum": 0},
                                       "description": "The bytes the server holds."}}

    def no_content(op, code, description, headers):
        op["responses"][code] = {"description": description, "headers": headers}
        op["responses"].pop("200", None)
        op["responses"]["412"] = {"$ref": "#/components/responses/TusVersion"}
        return op

    begin = no_content(operation(
        f"Begin an upload in parts of one image or video of Upload-Length bytes (at most "
        f"{max(cfg.media_max_bytes, cfg.media_video_max_bytes)}), named in Upload-Metadata (filename, base64)",
        200, shapes.Empty, 400, 412, 413, params=[tus, {
            "name": "Upload-Length", "in": "header", "required": True, "schema": {"type": "integer", "minimum": 1}},
            {"name": "Upload-Metadata", "in": "header", "schema": {"type": "string", "maxLength": 1000}}]),
        "201", "Begun: send its parts to Location", {"Location": {"schema": {"type": "string"}}, **offset_header})
    part = no_content(operation(
        "Append a part at Upload-Offset (the server's, from HEAD); the part that completes the file keeps it in "
        "the library like POST /api/media, and Content-Location names it", 200, shapes.Empty, 400, 404, 409,
        412, 413, 415, 422, params=[tus, upload_id, {
            "name": "Upload-Offset", "in": "header", "required": True, "schema": {"type": "integer", "minimum": 0}}]),
        "204", "Taken", {**offset_header, "Content-Location": {"schema": {"type": "string"},
                                                                "description": "The media, once complete."}})
    part["requestBody"] = {"required": True, "content": {"application/offset+octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}
    abandon = no_content(operation("Abandon an upload: its parts are removed", 200, shapes.Empty, 404, 412,
                                   params=[tus, upload_id]), "204", "Abandoned", {})
    return {"/api/uploads": {"post": begin}, "/api/uploads/{upload_id}": {"patch": part, "delete": abandon}}


def binary(summary: str, content_type: str, *params) -> dict:
    op = operation(summary, 200, shapes.Empty, 404, params=params)
    op["responses"]["200"] = {"description": "OK", "content": {
        content_type: {"schema": {"type": "string", "format": "binary"}}}}
    return op


def media_file(media_id) -> dict:
    """GET /api/media/{media_id}/file: an image's bytes, or a video's — a range of them when asked
    (Range), or a redirect to a signed address where the store is S3."""
    op = binary("The file's bytes: a video's may be asked for a range at a time (Range: 206), or come from a "
                "signed address it redirects to (302, S3)", "image/*", media_id)
    op["responses"]["200"]["content"]["video/*"] = {"schema": {"type": "string", "format": "binary"}}
    op["responses"]["206"] = {"description": "The range asked for", "content": {
        "video/*": {"schema": {"type": "string", "format": "binary"}}}}
    op["responses"]["302"] = {"description": "Where the store gives the video (a signed S3 address)",
                              "headers": {"Location": {"schema": {"type": "string"}}}}
    return op


def rendition_paths(media_id) -> dict:
    """A video's renditions (media/rendition_jobs.py): asked for, and followed."""
    asked = operation("Ask for a version of a video that a kind of post takes, made by a worker (transcoded: "
                      "H.264 and AAC, scaled and padded to the kind's shape, its frame rate in range, index first): "
                      "202 with the request on its way (asked again while it is, the same one), 200 with the "
                      "version already made; 422 for a photo, a video that fits already, or one a new version "
                      "cannot fix (its length: trim it) (editors)", 202, shapes.Rendition, 404, 422,
                      body=shapes.RenditionRequest, params=[media_id])
    asked["responses"]["200"] = {**asked["responses"]["202"], "description": "Made already"}
    return {"/api/media/{media_id}/renditions": {
        "get": operation("A video's versions for kinds of post it does not fit: queued, being made (how far), "
                         "ready (the new video's id) or failed (why)", 200, shapes.RenditionList, 404, 422,
                         params=[media_id]),
        "post": asked}}


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
    period = [{"name": name, "in": "query", "schema": {"type": "string", "format": "date"},
               "description": f"{what} day of the period (UTC, inclusive); by default the last 28 days to today; "
                              "at most 366 days."} for name, what in (("from", "The first"), ("to", "The last"))]
    channels = {"name": "channel", "in": "query", "style": "form", "explode": True,
                "schema": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}},
                "description": "Only these channels (repeated); by default every channel."}
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
            "get": operation("Posts, newest first, a page at a time", 200, shapes.PostPage, 400,
                             params=list_params),
            "post": operation("Create a post with one publication per channel; publish or schedule it",
                              201, shapes.Post, 409, 422, body=shapes.CreatePost, params=[IDEMPOTENCY_KEY]),
        },
        "/api/posts/bulk": {"post": operation(
            "Cancel, delete or duplicate several posts, each on its own", 200, shapes.BulkResults, 422,
            body=shapes.Bulk)},
        "/api/posts/import": {"post": {**operation(
            "Posts from a CSV file: all created in one transaction, or none (a 422 lists every line's "
            "problem)", 201, shapes.Imported, 400, 413, 415, 422),
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": ref(shapes.CsvUpload)}}}}},
        "/api/posts/{post_id}": {
            "get": with_headers(operation("A post, its publications and their attempts; its version as the "
                                          "ETag", 200, shapes.Post, 404, params=[post_id]), "200", ETAG),
            "patch": with_headers(operation("Edit a draft or a scheduled post (any field of a new post but "
                                            "publish), or schedule or move it; with If-Match, only if it has "
                                            "not changed since (else 412, saying what changed)", 200, shapes.Post,
                                            404, 409, 412, 422, body=shapes.EditPost, params=[post_id, IF_MATCH]),
                                  "200", ETAG),
            "delete": {**operation("Delete a draft, scheduled or failed post (a published one with "
                                   "include_history=true); nothing is deleted on the networks", 204, shapes.Empty,
                                   400, 404, 409, params=[post_id, {
                                       "name": "include_history", "in": "query",
                                       "schema": {"type": "string", "enum": ["true", "false"]}}]),
                       "responses": {"204": {"description": "Deleted"},
                                     **{str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"}
                                        for c in (400, 401, 403, 404, 409, 503)}}},
        },
        "/api/posts/{post_id}/duplicate": {"post": operation(
            "A new draft from any post", 201, shapes.Post, 404, 422, body=shapes.Empty, body_required=False,
            params=[post_id])},
        "/api/posts/{post_id}/publish": {"post": operation(
            "Enqueue every pending publication", 202, shapes.PublishResults, 404, 409, 422,
            body=shapes.PublishOptions, body_required=False, params=[post_id, IDEMPOTENCY_KEY])},
        "/api/posts/{post_id}/status": {"get": operation(
            "Counts by status and each publication's state", 200, shapes.PostStatusShape, 404, params=[post_id])},
        "/api/posts/{post_id}/retry": {"post": operation(
            "Send again the failed, expired and unconfirmed publications", 202, shapes.PublishResults, 404, 409,
            422, body=shapes.Empty, body_required=False, params=[post_id, IDEMPOTENCY_KEY])},
        "/api/posts/{post_id}/cancel": {"post": operation(
            "Take a scheduled post back to draft, or withdraw a request for approval", 200, shapes.Post, 404, 409,
            body=shapes.Empty, body_required=False, params=[post_id])},
        "/api/posts/{post_id}/skip": {"post": operation(
            "Move a recurring post's scheduled occurrence to its next time, keeping the series", 200, shapes.Post,
            404, 409, 422, body=shapes.Empty, body_required=False, params=[post_id])},
        "/api/posts/{post_id}/approve": {"post": operation(
            "Approve a post awaiting approval (admins): published at once (`results`), or scheduled at its "
            "time — at once when that time has passed (`note` says so); with `seen_updated_at`, a post "
            "changed since it was reviewed is a 409; so is an image_url not yet fetched into the media store, "
            "one that could not be, or (`seen_image_sha256`) another copy than the one reviewed", 200, shapes.Post, 404, 409, 422,
            body=shapes.Approve, body_required=False, params=[post_id])},
        "/api/posts/{post_id}/reject": {"post": operation(
            "Send a post awaiting approval back to its editor as a draft, saying why (admins)", 200, shapes.Post,
            404, 409, body=shapes.Reject, params=[post_id])},
        "/api/publications/{publication_id}/retry": {"post": operation(
            "Send one failed, expired or unconfirmed publication again", 202, shapes.PublishResults, 404, 409,
            422, body=shapes.Empty, body_required=False, params=[publication_id, IDEMPOTENCY_KEY])},
        "/api/channels": {
            "get": operation("Every channel (tokens never shown)", 200, shapes.ChannelList),
            "post": operation("Connect an account, checked with its network first (one read call with "
                              "its token)", 201, shapes.Channel, 422, 502, body=shapes.CreateChannel),
        },
        "/api/channels/{channel_id}": {
            "get": operation("One channel", 200, shapes.Channel, 404, params=[channel_id]),
            "patch": operation("Change its name, whether it is offered or needs approval, its spacing, its send "
                               "rate (admins); null takes the setting again", 200, shapes.Channel, 404,
                               body=shapes.ChangeChannel, params=[channel_id])},
        "/api/channels/{channel_id}/quotas": {"get": operation(
            "What its spacing and quotas hold now, and when a post sent now would go out", 200, shapes.ChannelQuotas,
            404, params=[channel_id])},
        "/api/channels/{channel_id}/metrics": {"get": operation(
            "Its account's numbers by day (followers, reach, views) and its items published in the period: totals "
            "and best posts", 200, shapes.ChannelMetrics, 400, 404, params=[channel_id, *period])},
        "/api/channels/{channel_id}/best-times": {"get": operation(
            "When its own posts did best over the last 90 days, by weekday and hour in its posting times' zone, "
            "each cell with how many posts it rests on and a confidence; the best offered as posting times", 200,
            shapes.BestTimes, 404, params=[channel_id])},
        "/api/posts/{post_id}/metrics": {"get": operation(
            "Each published item's latest numbers (null: the network does not give it) and its curve since "
            "publishing", 200, shapes.PostMetrics, 404, params=[post_id])},
        "/api/analytics": {"get": operation(
            "A period's items: their totals beside the period before's, each channel's, and the best posts",
            200, shapes.Analytics, 400, params=[*period, channels])},
        "/api/analytics/export": {"get": csv_export(period, channels)},
        "/api/snippets": {
            "get": operation("The team's snippets and hashtag groups", 200, shapes.SnippetList),
            "post": operation("Save a snippet (editors); the shortcut is typed as /shortcut in the compose form", 201,
                              shapes.Snippet, 409, body=shapes.NewSnippet)},
        "/api/snippets/{snippet_id}": {
            "patch": operation("Change a snippet (editors)", 200, shapes.Snippet, 404, 409, body=shapes.ChangeSnippet,
                               params=[path_id("snippet_id")]),
            "delete": {**operation("Delete a snippet (editors)", 204, shapes.Empty, 404,
                                   params=[path_id("snippet_id")]),
                       "responses": {"204": {"description": "Deleted"},
                                     **{str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"}
                                        for c in (401, 403, 404, 503)}}}},
        "/api/review-links": {
            "get": operation("The newest 100 review links, each with its state and its reviewers' answers", 200,
                             shapes.ReviewLinkList),
            "post": operation("A link for someone without an account to review posts: its `url` is in this answer "
                              "only (editors)", 201, shapes.ReviewLink, body=shapes.CreateReviewLink)},
        "/api/review-links/{link_id}": {"delete": operation(
            "Withdraw a link: it opens nothing from now on (editors)", 200, shapes.ReviewLink, 404,
            params=[path_id("link_id")])},
        "/api/channels/{channel_id}/queue": {"put": operation(
            "Set its posting times (no slot: none)", 200, shapes.Channel, 404, body=shapes.Queue, params=[channel_id])},
        "/api/posts/{post_id}/queue": {"post": operation(
            "Schedule it at its channels' next free posting time", 200, shapes.Post, 404, 409, 422,
            body=shapes.Empty, body_required=False, params=[post_id])},
        "/api/media": {
            "get": operation("The media library, newest first", 200, shapes.MediaPage, 400, params=[
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": cfg.max_page_size}},
                {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                             "maximum": 10**18 - 1}}]),
            "post": upload_operation(cfg),
        },
        "/api/media/{media_id}": {
            "get": operation("One media file", 200, shapes.Media, 404, params=[media_id]),
            "delete": {**operation("Delete a file no post uses", 204, shapes.Empty, 404, 409, params=[media_id]),
                       "responses": {"204": {"description": "Deleted"},
                                     **{str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"}
                                        for c in (401, 403, 404, 409, 503)}}},
        },
        "/api/calendar": {"get": operation(
            "The posts of a window (scheduled ones at their time, those published without a schedule when "
            "asked) and the latest drafts", 200, shapes.Calendar, 400, params=[
                {"name": name, "in": "query", "required": True,
                 "schema": {"type": "string", "format": "date-time", "maxLength": 40},
                 "description": "An ISO 8601 instant with its offset; at most 62 days apart."}
                for name in ("from", "to")])},
        "/api/media/{media_id}/file": {"get": media_file(media_id)},
        **upload_paths(cfg),
        "/api/media/{media_id}/preflight": {"get": operation(
            "A video checked against each kind of video post of each network (Reel, Story, feed video, message): "
            "pass or fail, each reason with its fix and where the network states the rule; no items for a photo",
            200, shapes.Preflight, 404, params=[media_id])},
        "/api/me": {"get": operation("The caller: e-mail address, role (a token acts with its user's role) and "
                                     "what they are told by e-mail", 200, shapes.User),
                    "patch": operation("Choose what to be told by e-mail: `notifications` {posts, channels}, each "
                                       "immediately, digest (hourly) or off", 200, shapes.User, body=shapes.ChangeMe)},
        "/api/notices": {"get": operation(
            "The caller's newest notices (at most 100: needs your approval, rejected, failed, partly failed, "
            "reconnect) and how many are unread", 200, shapes.NoticeList, 400,
            params=[{"name": "unread", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["1", "true"]}, "description": "Only the unread ones."}])},
        "/api/notices/read": {"post": operation(
            "Mark the caller's notices read (`ids`), or all of them", 200, shapes.NoticesRead, body=shapes.ReadNotices,
            body_required=False)},
        "/api/users": {"get": operation("The team (admins)", 200, shapes.UserList)},
        "/api/users/{user_id}": {"patch": operation(
            "Change a user's role, or disable them (their sessions end and tokens stop at once) or enable them "
            "(admins; the last admin stays one)", 200, shapes.User, 404, 409, body=shapes.ChangeUser, params=[user_id])},
        "/api/users/{user_id}/reset": {"post": operation(
            "Sign a user out everywhere, revoke their tokens, clear their password; `link` (shown once) lets "
            "them set a new one (admins)", 201, shapes.Invitation, 404, 409, body=shapes.Empty, body_required=False,
            params=[user_id])},
        "/api/invitations": {
            "get": operation("Open invitations (admins)", 200, shapes.InvitationList),
            "post": operation("Invite someone by e-mail address: `link` (shown once) works once, for 7 days "
                              "(admins)", 201, shapes.Invitation, 409, body=shapes.Invite),
        },
        "/api/invitations/{invitation_id}": {"delete": {**operation(
            "Withdraw an invitation: its link stops working (admins)", 204, shapes.Empty, 404,
            params=[path_id("invitation_id")]), "responses": {"204": {"description": "Withdrawn"}, **{
                str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"} for c in (401, 403, 404, 503)}}}},
        "/api/webhooks": {
            "get": operation("Outcome webhook endpoints (admins)", 200, shapes.WebhookList),
            "post": operation("Add an endpoint; the answer's `secret` (whsec_…) is shown this once; an address "
                              "written as such (or `localhost`) that deliveries may not reach — not public and "
                              "not in SOCIALPUB_OUTBOUND_ALLOW — is a 422 naming `url` and the setting (admins)", 201,
                              shapes.Webhook, 422, body=shapes.CreateWebhook),
        },
        "/api/webhooks/{endpoint_id}": {
            "get": operation("One endpoint (admins)", 200, shapes.Webhook, 404, params=[endpoint_id]),
            "patch": operation("Change its URL, events, description, or turn it on or off (admins)", 200, shapes.Webhook,
                               404, 422, body=shapes.ChangeWebhook, params=[endpoint_id]),
            "delete": {**operation("Delete it with its delivery log (admins)", 204, shapes.Empty, 404,
                                   params=[endpoint_id]),
                       "responses": {"204": {"description": "Deleted"}, **{
                           str(c): {"$ref": f"#/components/responses/{ERROR_NAMES[c]}"} for c in (401, 403, 404, 503)}}},
        },
        "/api/webhooks/{endpoint_id}/rotate": {"post": operation(
            "A new signing secret (in the answer, this once); the previous one also signs for 24 h; 409 while an "
            "earlier rotation's previous secret still signs (admins)", 200,
            shapes.Webhook, 404, 409, body=shapes.Empty, body_required=False, params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/revoke_previous": {"post": operation(
            "Stop signing with the previous secret now, before its 24 h end (a leaked secret: rotate, then this); "
            "409 when no previous secret signs (admins)", 200,
            shapes.Webhook, 404, 409, body=shapes.Empty, body_required=False, params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/test": {"post": operation(
            "Send the endpoint a signed `webhook.test` event (to it alone, whatever events it takes), through the "
            "outbox like every event; the answer is its delivery, also in the delivery log; 409 when the endpoint "
            "is turned off (admins)", 202, shapes.WebhookDelivery, 404, 409, body=shapes.Empty, body_required=False,
            params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/deliveries": {"get": operation(
            "The latest 50 deliveries, newest first, each with its tries (admins)", 200, shapes.WebhookDeliveryList, 404,
            params=[endpoint_id])},
        "/api/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend": {"post": operation(
            "Send a delivery again now, with the same webhook-id (admins)", 202, shapes.WebhookDelivery, 404, 409,
            body=shapes.Empty, body_required=False, params=[endpoint_id, path_id("delivery_id")])},
        "/api/posts/{post_id}/events": {"get": operation(
            "The post's audit trail: who did what and when, oldest first (kept after the post is deleted)",
            200, shapes.EventList, 404, params=[post_id])},
        "/api/channels/{channel_id}/events": {"get": operation(
            "The channel's audit trail (admins)", 200, shapes.EventList, 404, params=[channel_id])},
        "/api/users/{user_id}/events": {"get": operation(
            "The user's audit trail (admins)", 200, shapes.EventList, 404, params=[user_id])},
        "/api/media/{media_id}/thumbnail": {"get": binary("A JPEG thumbnail, at most 320 px", "image/jpeg",
                                                          media_id)},
        **whatsapp_paths(channel_id, publication_id),
        **rendition_paths(media_id),
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
            "schemas": shapes.json_schemas(),
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
