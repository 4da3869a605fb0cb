"""A CSV file as people export it from a spreadsheet: UTF-8 (with or without
a byte-order mark), a first line naming the columns. Its shape is checked
here, once for every import (posts, WhatsApp contacts)."""
from __future__ import annotations

import csv
import io

from .errors import InvalidInput


def reader(data: bytes, columns: tuple, required: str, max_bytes: int) -> csv.DictReader:
    """A DictReader over ``data`` whose header (lower-cased) names only
    ``columns``, ``required`` among them.

    Raises:
      InvalidInput: too big, not UTF-8, an unreadable or missing header, an unknown column (field "file").
    """
    if len(data) > max_bytes:
        raise InvalidInput(f"file: larger than {max_bytes // 1024 // 1024} MiB", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file: not UTF-8 text (save the sheet as CSV UTF-8)", field="file") from None
    rows = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = rows.fieldnames  # the first line, read now
    except csv.Error as exc:  # such as a cell longer than csv.field_size_limit() (131,072 characters)
        raise InvalidInput(f"file: line 1 cannot be read as CSV ({exc})", field="file") from None
    header = [name.strip().lower() for name in fieldnames or []]
    if required not in header:
        raise InvalidInput(f"file: the first line must name the columns, {required} among them "
                           f"({', '.join(columns)})", field="file")
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise InvalidInput(f"file: unknown column {unknown[0][:40]!r} (the columns are {', '.join(columns)})",
                           field="file")
    rows.fieldnames = header
    return rows
