"""What a network's refusal means and what to do, in a sentence beside its
own words (which are kept as they are): the codes people meet most, by
network, as each network documents them."""
from __future__ import annotations

from typing import Optional

#: Graph's permission errors (10, 200–299; WhatsApp's 131005) flag the channel like an expired token.
PERMISSION_MISSING = ("Meta took back, or was never given, a permission this needs: the channel is marked \"needs "
                      "re-authorisation\" — reconnect it, allow every permission asked, then retry.")

#: (network or "*" for the Meta ones, code — "190" matches "190/463", "200-299" a range —,
#: words the message must hold or None) → what it means and what to do. The first match wins.
MEANINGS = (
    ("*", "104", None, "The channel has no token to send (it was never entered, or was cleared): reconnect the "
                       "channel or enter its token, then retry."),
    ("*", "190", None, "The network no longer accepts this channel's token (expired, revoked, or the password "
                       "changed): reconnect the channel, then retry."),
    ("*", "10", None, PERMISSION_MISSING),
    ("*", "200-299", None, PERMISSION_MISSING),
    ("*", "368", None, "Meta blocked this as against its policies (it may look like spam): change the text or "
                       "wait before posting again."),
    ("*", "324", None, "Meta could not read the image: use a JPEG or PNG it can fetch, or upload the photo."),
    ("*", "100", "image", "Meta could not use the image: check that its address is public and that it is a JPEG."),
    ("*", "100", None, "Meta refused one of the post's fields as invalid: check the image address, the link and "
                       "the text, then retry."),
    ("*", "4", None, "Too many calls from the app: the network asked to wait; it is retried by itself."),
    ("*", "9007", None, "Instagram was still processing the image: retry in a minute."),
    ("whatsapp", "131047", None, "More than 24 hours passed since this person last wrote: WhatsApp only takes "
                                 "an approved template message now."),
    ("whatsapp", "131026", None, "WhatsApp could not deliver to this number (not on WhatsApp, or an old app): "
                                 "check the number."),
    ("whatsapp", "131050", None, "This person stopped marketing messages from the business."),
    ("whatsapp", "131064", None, "Meta stopped this WhatsApp number sending for now: it reached its messaging "
                                 "limit after its templates were reported or blocked too often. Nobody is marked "
                                 "failed for it: the unsent recipients wait and go once Meta lifts the limit; "
                                 "improve the templates' quality in WhatsApp Manager."),
    ("whatsapp", "131048", None, "Meta limits how many messages this number may send, because earlier ones were "
                                 "blocked or reported as spam: the unsent recipients wait and go once the limit "
                                 "lifts; check the number's quality rating in WhatsApp Manager."),
    ("whatsapp", "131049", None, "Meta held this marketing message back so that this person does not get too many "
                                 "from businesses; nothing is wrong with the message. Do not resend at once: a "
                                 "retry a day or more later may reach them."),
    ("whatsapp", "130472", None, "This person is in a WhatsApp experiment that gets no marketing templates unless "
                                 "they wrote in the last 24 hours; a resend fails the same way. Ask them, by other "
                                 "means, to write to the business, then reply within the day."),
    ("whatsapp", "131005", None, PERMISSION_MISSING),
    ("linkedin", "403", "partnerApiPostsExternal", "LinkedIn refused the app posting for this page: the member who "
                                                   "connected it must be a page admin, and the app needs the "
                                                   "Community Management API (w_organization_social)."),
    ("linkedin", "403", None, "LinkedIn refused: a permission is missing. Reconnect the channel and allow every "
                              "permission asked."),
    ("linkedin", "401", None, "LinkedIn no longer accepts this channel's token: reconnect it, then retry."),
    ("linkedin", "422", "duplicate", "LinkedIn refuses a post that repeats a recent one: change the text, then retry."),
    ("linkedin", "429", None, "LinkedIn's daily limit for the app or member was reached: it is retried later by itself."),
    ("linkedin", "426", None, "LinkedIn no longer serves the API version socialpub asked for: move the channel (or "
                              "LINKEDIN_API_VERSION) to a current version, then retry."),
)
META = ("facebook", "instagram", "whatsapp")


def meaning(network: str, code: Optional[str], message: Optional[str]) -> Optional[str]:
    """A sentence on a refusal (its stored ``code``, e.g. "190/463", and message), or None."""
    if not code:
        return None
    base = str(code).split("/", 1)[0]
    words = (message or "").lower()
    for where, number, needs, text in MEANINGS:
        if where not in (network, "*") or (where == "*" and network not in META):
            continue
        if _matches(number, base) and (needs is None or needs.lower() in words):
            return text
    return None


def _matches(number: str, base: str) -> bool:
    """Whether the code ``base`` is ``number``, or within it when it is a range ("200-299")."""
    first, _, last = number.partition("-")
    if not last:
        return base == number
    return base.isdigit() and int(first) <= int(base) <= int(last)
