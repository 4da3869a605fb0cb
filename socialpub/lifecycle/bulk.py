"""One action on several posts at once (the posts list's ticks, ``POST
/api/posts/bulk``): each post on its own, so one refused does not stop the others."""
from __future__ import annotations

from ..errors import AppError, InvalidInput
from . import editing, scheduling

#: What each action does to one post.
ACTIONS = {"cancel": scheduling.cancel, "delete": editing.delete, "duplicate": editing.duplicate}
#: Posts one request may name.
MAX_BULK = 100


def run(action, ids) -> list:
    """The outcome of ``action`` on each post of ``ids`` (for the API and the posts list).

    Raises:
      InvalidInput: an unknown action, or ids that are not a list of up to MAX_BULK post ids.
    """
    if not isinstance(action, str) or action not in ACTIONS:
        raise InvalidInput(f"action: one of {', '.join(ACTIONS)}", field="action")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_BULK or not all(type(i) is int for i in ids):
        raise InvalidInput(f"ids: a list of 1 to {MAX_BULK} post ids", field="ids")
    results = []
    for post_id in dict.fromkeys(ids):
        try:
            done = ACTIONS[action](post_id)
        except AppError as exc:
            results.append({"id": post_id, "ok": False, "error": exc.message})
        else:
            results.append({"id": post_id, "ok": True, **({"new_id": done.id} if action == "duplicate" else {})})
    return results
