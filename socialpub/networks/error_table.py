"""Every error code socialpub can meet, in one table per API: Meta's Graph
codes (Facebook, Instagram with its code/subcode pairs, WhatsApp) and
LinkedIn's HTTP statuses. Each row says how the worker reacts (an
:class:`ErrorKind`), what the code means in a few words, and the page of the
network's documentation the row comes from (a key of :data:`SOURCES`).

``graph.classify`` and ``linkedin.linkedin_error`` read these tables; a code
missing here is classified by its HTTP status (5xx transient, else permanent).
``tests/networks/test_error_table.py`` checks every row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .base import ErrorKind

TRANSIENT, RATE_LIMITED, PERMANENT, AUTH = (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED, ErrorKind.PERMANENT,
                                            ErrorKind.AUTH)

#: Where the rows come from.
SOURCES = {
    "graph": "https://developers.facebook.com/docs/graph-api/guides/error-handling",
    "graph-rate": "https://developers.facebook.com/docs/graph-api/overview/rate-limiting",
    "page-photos": "https://developers.facebook.com/docs/graph-api/reference/page/photos",
    "instagram": "https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes",
    "whatsapp": "https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes",
    "whatsapp-experiments": "https://developers.facebook.com/documentation/business-messaging/whatsapp/support/"
                            "experiments",
    "linkedin": "https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling",
    "linkedin-rate": "https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits",
    "linkedin-versions": "https://learn.microsoft.com/en-us/linkedin/marketing/versioning",
    "linkedin-posts": "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api",
    "http": "https://www.rfc-editor.org/rfc/rfc9110#name-408-request-timeout",
}


@dataclass(frozen=True)
class Row:
    """One code (or the range ``code``–``through``), as its network documents it."""

    code: int
    kind: ErrorKind
    meaning: str
    source: str
    #: Graph's ``error_subcode``, where the pair means more than the code alone.
    subcode: Optional[int] = None
    #: The one Meta network the row is about; None: all three.
    network: Optional[str] = None
    through: Optional[int] = None
    #: LinkedIn: words the message must hold for this row (its statuses carry several meanings).
    words: Optional[str] = None
    #: The meaning is added to the network's message: its own words do not say what to do.
    told: bool = False

    @property
    def codes(self) -> range:
        return range(self.code, (self.through or self.code) + 1)


GRAPH = (
    # Shared by every Graph API.
    Row(1, TRANSIENT, "unknown error, possibly temporary (downtime)", "graph"),
    Row(2, TRANSIENT, "service temporarily unavailable", "graph"),
    Row(3, PERMANENT, "the app lacks the capability this call needs", "graph"),
    Row(4, RATE_LIMITED, "the app's call limit was reached", "graph-rate"),
    Row(10, AUTH, "a permission was not granted, or was removed", "graph"),
    Row(17, RATE_LIMITED, "the user's call limit was reached", "graph-rate"),
    Row(32, RATE_LIMITED, "the Page's call limit was reached", "graph-rate"),
    Row(100, PERMANENT, "invalid parameter", "graph"),
    Row(100, PERMANENT, "the object does not exist, or this token cannot see it", "graph", subcode=33),
    Row(102, AUTH, "the session is no longer valid", "graph"),
    Row(104, AUTH, "no access token was sent: the channel has none", "graph"),
    Row(190, AUTH, "the access token is invalid or expired (subcodes: expired, password changed, app removed…)",
        "graph"),
    Row(200, AUTH, "a permission was not granted, or was removed", "graph", through=299),
    Row(341, RATE_LIMITED, "the application limit was reached", "graph-rate"),
    Row(368, PERMANENT, "temporarily blocked for a policy violation", "graph"),
    Row(613, RATE_LIMITED, "a custom rate limit was reached", "graph-rate"),
    Row(80001, RATE_LIMITED, "the Page's business use case limit was reached", "graph-rate"),
    Row(80002, RATE_LIMITED, "the Instagram account's business use case limit was reached", "graph-rate"),
    Row(80007, RATE_LIMITED, "the WhatsApp Business Account's rate limit was reached", "whatsapp"),
    Row(80008, RATE_LIMITED, "the WhatsApp Business Management business use case limit was reached",
        "graph-rate"),
    # Facebook Pages.
    Row(324, PERMANENT, "the image file is missing or invalid", "page-photos", network="facebook"),
    Row(506, PERMANENT, "a duplicate post cannot be published right after the first", "graph",
        network="facebook"),
    Row(1609005, PERMANENT, "the link could not be fetched", "graph", network="facebook"),
    # Instagram: its codes come with subcodes that say more.
    Row(-1, TRANSIENT, "server error, or the container could not be created: retry", "instagram",
        network="instagram"),
    Row(-2, TRANSIENT, "the media took too long to download, or expired: retry", "instagram",
        network="instagram"),
    Row(4, PERMANENT, "the account's activity is restricted as spam (the post may have gone out)", "instagram",
        network="instagram", subcode=2207051),
    Row(9, PERMANENT, "the account cannot do this now", "instagram", network="instagram"),
    Row(9, RATE_LIMITED, "the daily publishing limit was reached (a rolling 24 hours)", "instagram",
        network="instagram", subcode=2207042),
    Row(24, TRANSIENT, "the media is not ready yet: retry in 30 s to 2 minutes", "instagram", network="instagram"),
    Row(25, PERMANENT, "the account is restricted", "instagram", network="instagram"),
    Row(9004, PERMANENT, "Instagram could not fetch the media at the URL given", "instagram", network="instagram"),
    Row(9007, TRANSIENT, "the media is not ready for publishing yet", "instagram", network="instagram"),
    Row(36000, PERMANENT, "the image or caption is refused: too large, a format or aspect ratio it does not "
        "take, a caption too long", "instagram", network="instagram", through=36004),
    # WhatsApp Cloud API (its error reference, section by section).
    Row(0, AUTH, "the app user could not be authenticated (token expired or invalidated)", "whatsapp",
        network="whatsapp"),
    Row(130429, RATE_LIMITED, "the number's message throughput was reached", "whatsapp", network="whatsapp"),
    Row(131048, RATE_LIMITED, "spam rate limit: the number may send fewer messages because earlier ones were "
        "blocked or flagged as spam", "whatsapp", network="whatsapp"),
    Row(131056, RATE_LIMITED, "pair rate limit: too many messages to the same person in a short time",
        "whatsapp", network="whatsapp"),
    Row(131064, RATE_LIMITED, "the number reached its messaging limit after template-quality violations: "
        "hold the sends and retry later", "whatsapp", network="whatsapp"),
    Row(130497, PERMANENT, "the business account may not message people in this country", "whatsapp",
        network="whatsapp"),
    Row(131031, PERMANENT, "the business account is locked", "whatsapp", network="whatsapp"),
    Row(33, PERMANENT, "the business phone number was deleted", "whatsapp", network="whatsapp"),
    Row(130472, PERMANENT, "the person is in Meta's marketing message experiment: marketing templates reach "
        "them only inside an open customer service window; a resend fails the same way",
        "whatsapp-experiments", network="whatsapp"),
    Row(131000, TRANSIENT, "something went wrong at Meta: retry", "whatsapp", network="whatsapp"),
    Row(131005, AUTH, "access denied: a permission was not granted, or was removed", "whatsapp",
        network="whatsapp"),
    Row(131008, PERMANENT, "a required parameter is missing", "whatsapp", network="whatsapp"),
    Row(131009, PERMANENT, "a parameter value is not valid", "whatsapp", network="whatsapp"),
    Row(131016, TRANSIENT, "a service is temporarily unavailable", "whatsapp", network="whatsapp"),
    Row(131021, PERMANENT, "the recipient is the sending number itself", "whatsapp", network="whatsapp"),
    Row(131026, PERMANENT, "the message could not be delivered (not on WhatsApp, old app, terms not accepted)",
        "whatsapp", network="whatsapp"),
    Row(131037, PERMANENT, "the number's display name must be approved first", "whatsapp", network="whatsapp"),
    Row(131042, PERMANENT, "a payment problem with the business account", "whatsapp", network="whatsapp"),
    Row(131045, PERMANENT, "the number's certificate is wrong", "whatsapp", network="whatsapp"),
    Row(131047, PERMANENT, "more than 24 hours since the person last wrote: only a template may be sent",
        "whatsapp", network="whatsapp"),
    Row(131049, PERMANENT, "not delivered, to keep people from receiving too many marketing messages; do not "
        "resend at once", "whatsapp", network="whatsapp"),
    Row(131050, PERMANENT, "the person stopped marketing messages from this business", "whatsapp",
        network="whatsapp"),
    Row(131051, PERMANENT, "an unsupported message type", "whatsapp", network="whatsapp"),
    Row(131052, PERMANENT, "the media the person sent could not be downloaded", "whatsapp", network="whatsapp"),
    Row(131053, PERMANENT, "the media could not be uploaded", "whatsapp", network="whatsapp"),
    Row(131057, TRANSIENT, "the business account is in maintenance mode", "whatsapp", network="whatsapp"),
    Row(132000, PERMANENT, "the template's parameter count does not match", "whatsapp", network="whatsapp"),
    Row(132001, PERMANENT, "the template does not exist in this language, or is not approved", "whatsapp",
        network="whatsapp"),
    Row(132005, PERMANENT, "the template's text is too long once filled in", "whatsapp", network="whatsapp"),
    Row(132007, PERMANENT, "the template's content breaks a formatting policy", "whatsapp", network="whatsapp"),
    Row(132012, PERMANENT, "a template parameter has the wrong format", "whatsapp", network="whatsapp"),
    Row(132015, PERMANENT, "the template is paused for low quality", "whatsapp", network="whatsapp"),
    Row(132016, PERMANENT, "the template is disabled for low quality", "whatsapp", network="whatsapp"),
    Row(132068, PERMANENT, "the flow is blocked", "whatsapp", network="whatsapp"),
    Row(132069, RATE_LIMITED, "the flow is throttled", "whatsapp", network="whatsapp"),
    Row(133000, PERMANENT, "a previous deregistration of the number did not finish", "whatsapp",
        network="whatsapp"),
    Row(133004, TRANSIENT, "the server is temporarily unavailable", "whatsapp", network="whatsapp"),
    Row(133005, PERMANENT, "the two-step verification PIN does not match", "whatsapp", network="whatsapp"),
    Row(133006, PERMANENT, "the number must be verified again", "whatsapp", network="whatsapp"),
    Row(133008, RATE_LIMITED, "too many two-step verification PIN guesses", "whatsapp", network="whatsapp"),
    Row(133009, RATE_LIMITED, "two-step verification PIN guessed too fast", "whatsapp", network="whatsapp"),
    Row(133010, PERMANENT, "the number is not registered with the Cloud API", "whatsapp", network="whatsapp"),
    Row(133015, RATE_LIMITED, "wait a few minutes before registering this number again", "whatsapp",
        network="whatsapp"),
    Row(133016, RATE_LIMITED, "too many registration or deregistration attempts for this number", "whatsapp",
        network="whatsapp"),
    Row(135000, PERMANENT, "a generic user error", "whatsapp", network="whatsapp"),
)

LINKEDIN = (
    Row(400, PERMANENT, "bad request: the URL or body is malformed", "linkedin"),
    Row(401, AUTH, "the token is missing, invalid, expired or revoked", "linkedin"),
    Row(403, PERMANENT, "a permission or scope is missing", "linkedin"),
    Row(404, PERMANENT, "the resource does not exist", "linkedin"),
    Row(405, PERMANENT, "the method is not allowed here", "linkedin"),
    Row(408, TRANSIENT, "the request timed out before it was read", "http"),
    Row(411, PERMANENT, "the request lacks a Content-Length", "linkedin"),
    Row(422, PERMANENT, "the post repeats a recent one (\"Content is a duplicate of urn:li:share:…\")",
        "linkedin-posts", words="duplicate"),
    Row(422, PERMANENT, "the body failed validation", "linkedin"),
    Row(426, PERMANENT, "LinkedIn no longer serves the API version asked for (LinkedIn-Version): socialpub "
        "must move to a current one", "linkedin-versions", told=True),
    Row(429, RATE_LIMITED, "the app's or member's daily call limit was reached (reset at midnight UTC)",
        "linkedin-rate"),
    Row(500, TRANSIENT, "LinkedIn's server failed", "linkedin"),
    Row(504, TRANSIENT, "LinkedIn's gateway timed out", "linkedin"),
)


def _graph_index(rows) -> dict:
    """``{(network, code, subcode): row}``; two rows for the same key are a mistake in the table."""
    index = {}
    for row in rows:
        for code in row.codes:
            key = (row.network, code, row.subcode)
            if key in index:
                raise ValueError(f"error_table: two rows for {key}")
            index[key] = row
    return index


_GRAPH = _graph_index(GRAPH)


def graph_row(network: str, code: Optional[int], subcode: Optional[int]) -> Optional[Row]:
    """The row of a Graph error: the most specific of this network's code/subcode
    pair, the pair on every Meta network, this network's code, the code anywhere."""
    for key in ((network, code, subcode), (None, code, subcode), (network, code, None), (None, code, None)):
        if key in _GRAPH:
            return _GRAPH[key]
    return None


def linkedin_row(status: int, message: str) -> Optional[Row]:
    """The row of a LinkedIn HTTP status, the first whose ``words`` the message holds (if it names any)."""
    words = (message or "").lower()
    for row in LINKEDIN:
        if status in row.codes and (row.words is None or row.words in words):
            return row
    return None


def by_status(http_status: int) -> ErrorKind:
    """A code the tables do not hold: a 5xx is most likely the server's own trouble."""
    return TRANSIENT if http_status >= 500 else PERMANENT
