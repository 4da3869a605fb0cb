"""What a network's refusal means and what to do, in a sentence beside its
own words (which are kept as they are): the codes people meet most, by
network, as each network documents them."""
from __future__ import annotations

from typing import Optional

#: (network or "*" for the Meta ones, code — "190" matches "190/463" —, words the message
#: must hold or None) → what it means and what to do. The first match wins.
MEANINGS = (
    ("*", "190", None, "The network no longer accepts this channel's token (expired, revoked, or the password "
                       "changed): reconnect the channel, then retry."),
    ("*", "10", None, "The app lacks a permission this needs: reconnect the channel and allow every permission asked."),
    ("*", "200", None, "The app lacks a permission this needs: reconnect the channel and allow every permission asked."),
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
    ("linkedin", "403", "partnerApiPostsExternal", "LinkedIn refused the app posting for this page: the member who "
                                                   "connected it must be a page admin, and the app needs the "
                                                   "Community Management API (w_organization_social)."),
    ("linkedin", "403", None, "LinkedIn refused: a permission is missing. Reconnect the channel and allow every "
                              "permission asked."),
    ("linkedin", "401", None, "LinkedIn no longer accepts this channel's token: reconnect it, then retry."),
    ("linkedin", "422", "duplicate", "LinkedIn refuses a post that repeats a recent one: change the text, then retry."),
    ("linkedin", "429", None, "LinkedIn's daily limit for the app or member was reached: it is retried later by itself."),
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
        if base == number and (needs is None or needs.lower() in words):
            return text
    return None
