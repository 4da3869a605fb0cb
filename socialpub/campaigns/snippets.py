"""Snippets and hashtag groups: texts a team reuses — a signature, a
disclaimer, a set of hashtags — saved once, with a variant per network where a
network needs its own words (LinkedIn's longer disclaimer, Instagram's
hashtags), and inserted from the compose form by its menu or by typing
``/<shortcut>``. What they insert is text like any other: counted against each
network's limits (characters, Instagram's 30 hashtags) by the compose form's
counters, and checked as the post is.
"""
from __future__ import annotations

import re

from .. import audit
from ..db import write_transaction
from ..errors import Conflict, InvalidInput, NotFound
from ..input_checks import refuse_unstorable_text
from ..models import utcnow
from ..models.campaigns import Snippet
from ..networks import LIMITS, NETWORKS

KINDS = ("text", "hashtags")
FIELDS = {"name", "shortcut", "kind", "body", "variants"}
SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
MAX_NAME = 60
#: The longest text any network takes.
MAX_TEXT = max(limits.max_text for limits in LIMITS.values())
#: Snippets a team keeps at most (the compose page carries them all).
MAX_SNIPPETS = 500


def check(data, partial: bool = False) -> dict:
    """A snippet as sent, checked: ``{name, shortcut, kind, body, variants}`` (``partial``: the fields given).

    Raises:
      InvalidInput: naming the field.
    """
    if not isinstance(data, dict) or set(data) - FIELDS:
        raise InvalidInput(f"body: a snippet's fields are {', '.join(sorted(FIELDS))}", field="body")
    checked = {}
    if not partial or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise InvalidInput(f"name: 1 to {MAX_NAME} characters, as the menu shows it", field="name")
        checked["name"] = name.strip()
    if not partial or "shortcut" in data:
        shortcut = data.get("shortcut")
        if not isinstance(shortcut, str) or not SHORTCUT.match(shortcut):
            raise InvalidInput("shortcut: lower-case letters, digits, - and _ (up to 30), typed as /shortcut",
                               field="shortcut")
        checked["shortcut"] = shortcut
    if not partial or "kind" in data:
        kind = data.get("kind", "text")
        if kind not in KINDS:
            raise InvalidInput("kind: text, or hashtags (a hashtag group)", field="kind")
        checked["kind"] = kind
    if not partial or "body" in data:
        checked["body"] = _text(data.get("body"), "body")
    if not partial or "variants" in data:
        variants = data.get("variants") or {}
        if not isinstance(variants, dict) or set(variants) - set(NETWORKS):
            raise InvalidInput(f"variants: {{network: its own text}}, networks among {', '.join(NETWORKS)}",
                               field="variants")
        checked["variants"] = {network: _text(text, f"variants.{network}") for network, text in variants.items()
                               if text not in (None, "")}
    for field, value in checked.items():
        if isinstance(value, str):
            refuse_unstorable_text(value, field)
    return checked


def _text(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidInput(f"{field}: the text to insert, 1 to {MAX_TEXT:,} characters", field=field)
    refuse_unstorable_text(value, field)
    return value


def listed() -> list:
    return list(Snippet.select().order_by(Snippet.name, Snippet.id).limit(MAX_SNIPPETS))


def create(data, by: int | None) -> Snippet:
    values = check(data)
    with write_transaction():
        if Snippet.select().count() >= MAX_SNIPPETS:
            raise Conflict(f"body: a team keeps at most {MAX_SNIPPETS} snippets; delete one first", field="body")
        _refuse_taken(values["shortcut"])
        snippet = Snippet.create(**values, created_by=by)
        audit.record(audit.SNIPPET, snippet.id, "created", shortcut=snippet.shortcut)
    return snippet


def change(snippet_id: int, data) -> Snippet:
    values = check(data, partial=True)
    with write_transaction():
        snippet = get(snippet_id)
        if "shortcut" in values and values["shortcut"] != snippet.shortcut:
            _refuse_taken(values["shortcut"])
        Snippet.update(**values, updated_at=utcnow()).where(Snippet.id == snippet.id).execute()
        audit.record(audit.SNIPPET, snippet.id, "changed", fields=sorted(values))
    return get(snippet_id)


def delete(snippet_id: int) -> None:
    with write_transaction():
        snippet = get(snippet_id)
        snippet.delete_instance()
        audit.record(audit.SNIPPET, snippet_id, "deleted", shortcut=snippet.shortcut)


def get(snippet_id: int) -> Snippet:
    snippet = Snippet.get_or_none(Snippet.id == snippet_id)
    if snippet is None:
        raise NotFound(f"snippet {snippet_id} does not exist")
    return snippet


def _refuse_taken(shortcut: str) -> None:
    if Snippet.select().where(Snippet.shortcut == shortcut).exists():
        raise Conflict(f"shortcut: /{shortcut} is another snippet's", field="shortcut")


def text_for(snippet: Snippet, network: str | None) -> str:
    """What the snippet inserts into a network's version (its variant, else its body)."""
    return (snippet.variants or {}).get(network) or snippet.body
