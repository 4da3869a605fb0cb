"""What a network's refusal means and what to do, in a sentence beside its
own words (which are kept as they are): the codes people meet most, by
network, as each network documents them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .base import LABELS
from .error_table import graph_row, linkedin_row

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
                              "SOCIALPUB_LINKEDIN_API_VERSION) to a current version, then retry."),
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


# -- Every failure a person can meet: one sentence, who caused it, the fix ---------------------------------------
#
# The sentences above explain the networks' codes; a failure can also be socialpub's own finding (the photo could
# not be fetched, no answer, a time missed, an outcome it cannot check), so the page needs more than a meaning: who
# caused it and the one action that fixes it, and whether the stored words are the network's (shown below the
# sentence, labelled as the network's) or socialpub's own (never labelled "<Network> said").

#: Codes socialpub gives the failures it finds itself, stored as ``last_error_code`` like a network's (a small,
#: bounded set: they label the error metrics too). "image/<why>": the post's image_url could not be fetched.
IMAGE, NO_ANSWER, INTERNAL, STORE, VERSION = "image", "no_answer", "internal", "store", "version"
OWN_CODES = (IMAGE, NO_ANSWER, INTERNAL, STORE, VERSION)

#: Who caused a failure, as the page says it.
WHO = {"socialpub": "socialpub", "network": "the network", "link": "the photo's address",
       "account": "the account", "post": "the post"}

#: The fixes; the page draws each as a button where there is one.
FIXES = RECONNECT, EDIT_PHOTO, EDIT, RETRY, WAIT, CHECK, CHANNEL = (
    "reconnect", "edit_photo", "edit", "retry", "wait", "check", "channel")


@dataclass(frozen=True)
class Explanation:
    """A failure in plain words: ``sentence``; ``who`` caused it (a key of :data:`WHO`); ``fix`` (one of the
    fixes above, or None: nothing to do but read); ``said_by``: "network" when the stored words are the
    network's own, "socialpub" when socialpub wrote them."""

    sentence: str
    who: str
    fix: Optional[str]
    said_by: str

    def as_dict(self) -> dict:
        return {"sentence": self.sentence, "who": self.who, "who_label": WHO[self.who], "fix": self.fix,
                "said_by": self.said_by}


#: Why a photo could not be fetched (the subcode of IMAGE) → the sentence and who caused it.
IMAGE_REASONS = {
    "unresolved": ("The photo's address names a site that does not exist (its name does not resolve): "
                   "correct the address, or upload the photo instead.", "link"),
    "missing": ("The photo's address answers that there is no such file (for example 404 Not Found): "
                "correct the address, or upload the photo instead.", "link"),
    "denied": ("The photo's address refuses to give the file (for example 403 Forbidden): "
               "use an address anyone can open, or upload the photo.", "link"),
    "refused": ("The photo's address points into a private network that socialpub does not fetch from: "
                "use a public address or upload the photo.", "link"),
    "invalid": ("What the photo's address gives is not a photo socialpub can send (not a JPEG, PNG, WebP or GIF, "
                "or too large): use another photo.", "link"),
    "unreachable": ("The site of the photo's address did not answer: check the address, or upload the photo "
                    "instead.", "link"),
    "busy": ("socialpub was too busy to read the photo; it tries again by itself.", "socialpub"),
}
IMAGE_DEFAULT = ("The photo at the post's address could not be fetched: check the address, or "
                 "upload the photo instead.", "link")


def explain(network: str, status: str, code: Optional[str], message: Optional[str], *,
            needs_reauth: bool = False) -> Optional[Explanation]:
    """A publication's failure (its ``status``, stored ``code`` and ``message``) explained; None when it has none.
    ``needs_reauth``: its channel is marked as needing re-authorisation (whatever the error was)."""
    if not message and status not in ("expired", "unconfirmed") and not needs_reauth:
        return None
    name = LABELS.get(network, network)
    base, _, sub = (code or "").partition("/")
    said_by = "socialpub" if (not code or base in OWN_CODES) else "network"
    if needs_reauth:
        return Explanation(f"{name} no longer accepts this channel's connection (the token expired, was revoked, "
                           f"or a permission was removed): reconnect the channel, then retry.", "account",
                           RECONNECT, said_by)
    if status == "unconfirmed":
        return Explanation(f"socialpub cannot tell whether this reached {name} (the answer was lost): look on "
                           f"{name}, and retry only if it is not there.", "network", CHECK, said_by)
    if status == "expired":
        return Explanation("It was not sent in time (socialpub was stopped, or the network kept asking to wait), "
                           "so it was given up: retry to send it now.", "socialpub", RETRY, said_by)
    final = status in ("failed", "partly_failed")
    if base == IMAGE:
        sentence, who = IMAGE_REASONS.get(sub, IMAGE_DEFAULT)
        return Explanation(sentence, who, RETRY if who == "socialpub" else EDIT_PHOTO, said_by)
    if base == NO_ANSWER:
        return Explanation(f"socialpub could not reach {name} (no connection, or no answer in time)"
                           + ("; it tries again by itself." if not final else ": retry."),
                           "network", RETRY if final else WAIT, said_by)
    if base == INTERNAL:
        return Explanation("Something went wrong inside socialpub; it was logged"
                           + (": retry, or tell your admin." if final else "; it tries again by itself."),
                           "socialpub", RETRY if final else WAIT, said_by)
    if base == STORE:
        return Explanation("socialpub's media store did not give the post's photos"
                           + (": retry, or tell your admin." if final else "; it tries again by itself."),
                           "socialpub", RETRY if final else WAIT, said_by)
    if base == VERSION:
        return Explanation(f"{name} no longer serves the API version this channel is set to use: an admin moves "
                           f"the channel to a current version, then retry.", "socialpub", CHANNEL, said_by)
    if not code:  # socialpub's own account of what happened (a WhatsApp wait, a broadcast's summary)
        return Explanation(message, "socialpub", RETRY if final else None, said_by)
    row = linkedin_row(int(base), message or "") if network == "linkedin" and base.isdigit() else \
        graph_row(network, int(base), int(sub) if sub.lstrip("-").isdigit() else None) \
        if base.lstrip("-").isdigit() else None
    kind = row.kind.value if row else ("transient" if base.isdigit() and int(base) >= 500 else "permanent")
    told = meaning(network, code, message)
    if kind == "auth":
        return Explanation(told or f"{name} no longer accepts this channel's token: reconnect the channel, then "
                           f"retry.", "account", RECONNECT, said_by)
    if kind == "rate_limited":
        return Explanation(told or f"{name} asked socialpub to slow down ({row.meaning if row else 'a limit'}): it "
                           f"tries again by itself.", "network", WAIT if not final else RETRY, said_by)
    if kind == "transient":
        return Explanation(told or f"{name} had a problem of its own ({row.meaning if row else 'a server error'})"
                           + ("; socialpub tries again by itself." if not final else ": retry later."),
                           "network", WAIT if not final else RETRY, said_by)
    return Explanation(told or f"{name} refused the post ({row.meaning if row else 'its words are below'}): change "
                       f"what it names, then retry.", "network", EDIT if final else None, said_by)
