"""Posts from a CSV file, as a team prepares them in a spreadsheet: a header
row naming the columns, then one post per row. Each row becomes a create-post
request; its shape is checked here, its content by composing.check_new_post
(lifecycle/creating.create_posts stores them all, or none).

A line names channels — by id, or by the channel's name as the app shows it —
or networks; a network with more than one enabled channel is refused for that
line, naming its channels to pick from: each channel has its own version, and
"facebook" must not fan out to every Page unasked."""
from __future__ import annotations

import csv

from .. import csv_file
from ..errors import InvalidInput, Unprocessable
from ..models import Channel

#: The columns a file may have; "text" is required, and "channels" (ids or names, such as
#: 12;Shop Page) or "networks" (names such as facebook;linkedin, each with one enabled
#: channel) says where (neither: every enabled channel).
COLUMNS = ("text", "networks", "channels", "scheduled_at", "timezone", "image_url", "link")
MAX_ROWS = 1000
MAX_BYTES = 2 * 1024 * 1024
#: Separators of several networks or channels in one cell.
SEPARATORS = (";", "|")


def requests_of(data: bytes, default_zone: str | None = None) -> list:
    """``[(line number, create-post request)]`` of a CSV file; a line whose
    channels cannot be told has an AppError in place of its request
    (lifecycle/creating.create_posts reports it with the other lines' problems).

    Raises:
      InvalidInput: not UTF-8 text, no header with a text column, an unknown
        column, a malformed row, or more than MAX_ROWS rows (naming the line).
    """
    reader = csv_file.reader(data, COLUMNS, "text", MAX_BYTES)
    rows, channels = [], list(Channel.select().order_by(Channel.id))
    try:
        for row in reader:
            if reader.line_num - 1 > MAX_ROWS:
                raise InvalidInput(f"file: more than {MAX_ROWS} posts; split it", field="file")
            if None in row:
                raise InvalidInput(f"line {reader.line_num}: more cells than columns", field="file")
            if not any((value or "").strip() for value in row.values()):
                continue  # a blank line
            request = _request(row, default_zone)
            try:
                _name_channels(request, channels)
            except Unprocessable as exc:
                request = exc
            rows.append((reader.line_num, request))
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


def _listed(channels) -> str:
    return ", ".join(f"{c.name} (id {c.id})" for c in channels)


def _name_channels(request: dict, channels: list) -> None:
    """In ``request``: each channel named by its name becomes its id, and a
    network with several enabled channels is refused, listing them.

    Raises:
      Unprocessable: naming the column (``channels``, ``networks``).
    """
    enabled = [c for c in channels if c.enabled]
    named = []
    for cell in request.get("channels") or ():
        if isinstance(cell, int):
            named.append(cell)
            continue
        same = [c for c in enabled if c.name.strip().casefold() == cell.casefold()]
        if len(same) > 1:
            raise Unprocessable(f"channels: {len(same)} channels are named {cell[:60]!r}; give the one you mean by "
                                f"its id: {_listed(same)}", field="channels")
        if not same:
            off = [c for c in channels if c.name.strip().casefold() == cell.casefold()]
            raise Unprocessable(f"channels: {cell[:60]!r} is disabled; enable it or pick another" if off else
                                f"channels: no channel is named {cell[:60]!r}; the channels are: {_listed(enabled)}",
                                field="channels")
        named.append(same[0].id)
    if "channels" in request:
        request["channels"] = named
    for network in request.get("networks") or ():
        several = [c for c in enabled if c.network == network]
        if len(several) > 1:
            raise Unprocessable(f"networks: {network} has {len(several)} channels, each with its own version; "
                                f"name the ones this post goes to in the channels column: {_listed(several)}",
                                field="networks")
