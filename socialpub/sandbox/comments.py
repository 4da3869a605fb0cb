"""Comments under published items, as each network takes and lists them:
Graph's ``/{object-id}/comments`` (a Facebook Page post, an Instagram media)
and LinkedIn's ``/rest/socialActions/{urn}/comments``. A token the sandbox
issued through a consent dialog comments only with the permission its network
asks for (``pages_manage_engagement``; ``instagram_manage_comments`` or
``instagram_business_manage_comments``; LinkedIn's ``w_*_social``); the
demo channels' tokens are taken as they are. ``GET /_sandbox/comments``
lists every comment made, by item."""
from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from .common import bearer_token, endpoint, state
from .errors import graph_error, graph_param_error, linkedin_error
from .graph import _params, graph_time
from .linkedin import _checked_request, _token_error, version_error

bp = Blueprint("comments", __name__)

#: The permissions with which each network lets a token comment (any one of them).
PERMISSIONS = {
    "facebook": ("pages_manage_engagement",),
    "instagram": ("instagram_manage_comments", "instagram_business_manage_comments"),
    "linkedin": ("w_organization_social", "w_member_social"),
}


def _item(item_id: str):
    """The published item ``item_id`` (any network), or None."""
    return next((item for item in state().history("received") if item["item_id"] == item_id), None)


def _permitted(network: str, token: str) -> bool:
    issued = state().token_info(token)
    return issued is None or bool(set(PERMISSIONS[network]) & set(issued.get("scopes") or ()))


@bp.route("/<gv:version>/<object_id>/comments", methods=["GET", "POST"])
def graph_comments(version, object_id):
    item = _item(object_id)
    network = item["network"] if item and item["network"] in ("facebook", "instagram") else "facebook"
    return endpoint(network, creates_item=request.method == "POST")(_graph_comments)(network, object_id, item)


def _graph_comments(network, object_id, item):
    values, error = _params(network)
    if error:
        return error
    if item is None:
        return graph_param_error(network, f"Unsupported {request.method.lower()} request. Object with ID "
                                 f"'{object_id}' does not exist, cannot be loaded due to missing permissions, "
                                 f"or does not support this operation", subcode=33)
    if request.method == "GET":
        comments = state().comments_of(object_id)
        text = "message" if network == "facebook" else "text"
        return jsonify(data=[{"id": c["id"], text: c["text"], "timestamp" if network == "instagram"
                              else "created_time": graph_time(c["at"]),
                              **({"from": {"id": c["author"]}} if network == "facebook" else {})}
                             for c in comments])
    if not _permitted(network, values.get("access_token") or bearer_token() or ""):
        if network == "instagram":
            return graph_error(network, 403, 10, "(#10) Application does not have permission for this action")
        return graph_error(network, 403, 200, "(#200) Permissions error")
    message = values.get("message")
    if not message:
        return graph_param_error(network, "(#100) The parameter message is required")
    comment_id = f"{object_id}_{state().new_number()}" if network == "facebook" else str(state().new_number())
    state().add_comment(object_id, {"id": comment_id, "text": message, "author": item["account_id"],
                                    "network": network, "at": time.time()})
    return jsonify(id=comment_id)


@bp.post("/rest/socialActions/<path:urn>/comments")
@endpoint("linkedin", creates_item=True)
def create_linkedin_comment(urn):
    """Create a comment: 201, the comment in the body, its URN in ``$URN``."""
    body, error = _checked_request()
    if error:
        return error
    if not _permitted("linkedin", bearer_token() or ""):
        return linkedin_error(403, "Not enough permissions to access: socialActions.comments.CREATE",
                              code="ACCESS_DENIED")
    item = _item(urn)
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    if body.get("object") != urn or not isinstance(message.get("text"), str) or not body.get("actor"):
        return linkedin_error(422, "actor, object (the post's URN, as in the path) and message.text are required",
                              code="UNPROCESSABLE_ENTITY")
    if item is None:
        return linkedin_error(404, f"Not found: {urn}", code="NOT_FOUND")
    comment_id = str(state().new_number())
    comment = {"id": comment_id, "$URN": f"urn:li:comment:({urn},{comment_id})", "actor": body["actor"],
               "object": urn, "message": {"text": message["text"]},
               "created": {"actor": body["actor"], "time": int(time.time() * 1000)}}
    state().add_comment(urn, {"id": comment["$URN"], "text": message["text"], "author": body["actor"],
                              "network": "linkedin", "at": time.time(), "entity": comment})
    return Response(response=jsonify(comment).get_data(), status=201, mimetype="application/json",
                    headers={"x-restli-id": comment["$URN"]})


@bp.get("/rest/socialActions/<path:urn>/comments")
@endpoint("linkedin")
def list_linkedin_comments(urn):
    error = _token_error() or version_error()
    if error:
        return error
    elements = [c["entity"] for c in state().comments_of(urn)]
    return jsonify(elements=elements, paging={"start": 0, "count": len(elements), "total": len(elements)})


@bp.get("/_sandbox/comments")
def every_comment():
    """Every comment made, with the item it is under."""
    return jsonify(state().every_comment())
