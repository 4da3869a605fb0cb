"""Error answers in each network's own envelope, and the failure presets that
``/_sandbox/config`` can inject.

Graph (Facebook, Instagram, WhatsApp)::

    {"error": {"message", "type", "code", "error_subcode"?, "is_transient"?,
               "fbtrace_id", "error_data"? (WhatsApp: {"messaging_product", "details"})}}

LinkedIn::

    {"message", "status", "serviceErrorCode"?, "code"?}
"""
from __future__ import annotations

import json
import secrets

from flask import Response, jsonify

#: What the Business Use Case header calls each network's quota.
BUC_TYPES = {"facebook": "pages", "instagram": "instagram", "whatsapp": "whatsapp_business_management"}
#: Graph code each network uses when its quota is spent.
RATE_LIMIT_CODES = {"facebook": 80001, "instagram": 80002, "whatsapp": 130429}
RATE_LIMIT_MESSAGES = {
    "facebook": "(#80001) There have been too many calls to this Page account. "
                "Wait a bit and try again.",
    "instagram": "(#80002) There have been too many calls to this Instagram account. "
                 "Wait a bit and try again.",
    "whatsapp": "(#130429) Rate limit hit",
}


def graph_error(network: str, status: int, code: int, message: str, *, subcode=None,
                details=None, headers=None, error_type="OAuthException", user_title=None,
                user_msg=None) -> Response:
    """A Graph error response; ``user_title`` and ``user_msg`` are the
    ``error_user_title``/``error_user_msg`` Meta adds for a person to read."""
    error = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if code in (1, 2):
        error["is_transient"] = True
    if user_title is not None:
        error.update(is_transient=False, error_user_title=user_title, error_user_msg=user_msg)
    if network == "whatsapp":
        error["error_data"] = {"messaging_product": "whatsapp", "details": details or message}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    response = jsonify({"error": error})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def graph_param_error(network: str, message: str, details=None, subcode=None) -> Response:
    """The ``(#100)`` invalid-parameter answer."""
    return graph_error(network, 400, 100, f"(#100) {message}", subcode=subcode, details=details)


def graph_token_error(network: str, token) -> Response:
    """The answer to a request without a token (code 104) or with an invalid or
    expired one (190); WhatsApp answers 401, the others 400.

    104 is what Graph answers when no token came at all (Meta's WhatsApp
    Business Platform specification, its ``Unauthorized`` examples; Graph's
    own answers carry the final full stop); 190 is for a token it cannot use.
    """
    status = 401 if network == "whatsapp" else 400
    if not token:
        return graph_error(network, status, 104, "An access token is required to request this resource.")
    if token.startswith("expired"):
        return graph_error(network, status, 190, "Error validating access token: Session has expired.",
                           subcode=463)
    return graph_error(network, status, 190, "Invalid OAuth access token - Cannot parse access token",
                       subcode=467)


def linkedin_error(status: int, message: str, *, service_code=None, code=None, headers=None) -> Response:
    """A LinkedIn REST error response."""
    body = {"message": message, "status": status}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    if code is not None:
        body["code"] = code
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def bad_gateway() -> Response:
    """What a load balancer answers when the API behind it is down: HTML, not JSON."""
    return Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502,
                    mimetype="text/html")


def fault_response(network: str, fault: dict) -> Response:
    """The answer of an injected failure ``fault`` (see settings.ERROR_PRESETS)."""
    kind = fault["error"]
    if kind == "bad_gateway":
        return bad_gateway()
    if network == "linkedin":
        return _linkedin_fault(kind, fault)
    if kind == "server_error":
        return graph_error(network, 500, 2, "Service temporarily unavailable")
    if kind == "rate_limit":
        usage = {"1234567890": [{"type": BUC_TYPES[network], "call_count": 100, "total_cputime": 12,
                                 "total_time": 14,
                                 "estimated_time_to_regain_access": fault.get("minutes", 1)}]}
        return graph_error(network, 429 if network == "whatsapp" else 400,
                           RATE_LIMIT_CODES[network], RATE_LIMIT_MESSAGES[network],
                           headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    if kind == "token":
        return graph_error(network, 401 if network == "whatsapp" else 400, 190,
                           "Error validating access token: The session has been invalidated "
                           "because the user changed their password.", subcode=460)
    if kind == "bad_parameter":
        return graph_param_error(network, "Invalid parameter",
                                 details="Parameter value is not valid")
    # policy
    return graph_error(network, 400, 368, "(#368) The action attempted has been deemed abusive "
                       "or is otherwise disallowed")


def _linkedin_fault(kind: str, fault: dict) -> Response:
    if kind == "server_error":
        return linkedin_error(500, "Internal Server Error")
    if kind == "rate_limit":
        return linkedin_error(429, "Resource level throttle limit for calls to this resource "
                              "is reached.", headers={"Retry-After": str(fault.get("retry_after", 60))})
    if kind == "token":
        return linkedin_error(401, "The token has been revoked", service_code=65601,
                              code="REVOKED_ACCESS_TOKEN")
    if kind == "bad_parameter":
        return linkedin_error(422, "ERROR :: /visibility :: \"SECRET\" is not an enum symbol",
                              code="UNPROCESSABLE_ENTITY")
    return linkedin_error(403, "Not enough permissions to access: "
                          "partnerApiPostsExternal.CREATE.20260101", service_code=100,
                          code="ACCESS_DENIED")
