"""URL converters of the app (apart from db.py, so that the worker processes,
which import the database module, do not load Werkzeug's routing: ~14 MB)."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<int:…>`` in every URL of the app: an id from 1 to :data:`socialpub.db.MAX_ID`, in
    ASCII digits. Anything else matches no route (a 404), where Werkzeug's own
    converter takes any Unicode digits, and any length (a 5,000-digit id is a
    ValueError, and one past 64 bits an OverflowError on SQLite). The range is
    in the pattern: a failed range check (``max=``) makes Werkzeug answer 405
    when another method's rule has the same path."""

    regex = r"[1-9][0-9]{0,17}"
