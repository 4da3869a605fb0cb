"""Posts from a CSV file, as a team prepares them in a spreadsheet: a header
row naming the columns, then one post per row. Each row becomes a create-post
request; its shape is checked here, its content by composing.check_new_post
(lifecycle/creating.create_posts stores them all, or none)."""
from __future__ import annotations

import csv

from ..errors import InvalidInput
from . import csv_file

#: The columns a file may have; "text" is required, and "networks" (names such as
#: facebook;linkedin) or "channels" (ids) says where (neither: every enabled channel).
COLUMNS = ("text", "networks", "channels", "scheduled_at", "timezone", "image_url", "link")
MAX_ROWS = 1000
MAX_BYTES = 2 * 1024 * 1024
#: Separators of several networks or channels in one cell.
SEPARATORS = (";", "|")


def requests_of(data: bytes, default_zone: str | None = None) -> list:
    """``[(line number, create-post request)]`` of a CSV file.

    Raises:
      InvalidInput: not UTF-8 text, no header with a text column, an unknown
        column, a malformed row, or more than MAX_ROWS rows (naming the line).
    """
    reader = csv_file.reader(data, COLUMNS, "text", MAX_BYTES)
    rows = []
    try:
        for row in reader:
            if reader.line_num - 1 > MAX_ROWS:
                raise InvalidInput(f"file: more than {MAX_ROWS} posts; split it", field="file")
            if None in row:
                raise InvalidInput(f"line {reader.line_num}: more cells than columns", field="file")
            if not any((value or "").strip() for value in row.values()):
                continue  # a blank line
            rows.append((reader.line_num, _request(row, default_zone)))
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: {exc}", field="file") from None
    if not rows:
        raise InvalidInput("file: no post in it (a header line, then one post per line)", field="file")
    return rows


def _cells(value: str) -> list:
    for separator in SEPARATORS:
        value = value.replace(separator, ",")
    return [part.strip() for part in value.split(",") if part.strip()]


def _request(row: dict, default_zone) -> dict:
    value = {name: (row.get(name) or "").strip() for name in COLUMNS}
    request = {"text": row.get("text") or ""}
    if value["networks"]:
        request["networks"] = [n.lower() for n in _cells(value["networks"])]
    if value["channels"]:
        request["channels"] = [int(c) if c.isascii() and c.isdigit() and len(c) <= 18 else c
                               for c in _cells(value["channels"])]
    for name in ("image_url", "link"):
        if value[name]:
            request[name] = value[name]
    if value["scheduled_at"]:
        request["scheduled_at"] = value["scheduled_at"]
        zone = value["timezone"] or default_zone
        if zone:
            request["timezone"] = zone
    return request
