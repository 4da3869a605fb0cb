"""Checks of what people type that every part of socialpub makes the same
way: a URL, and text a database can store."""
from __future__ import annotations

from urllib.parse import urlsplit

from .errors import InvalidInput, Unprocessable

#: The longest image or link URL taken (browsers and CDNs stop near 2,000 too).
MAX_URL = 2000


def check_url(value, field, max_length=MAX_URL):
    """Return ``value`` if it is an absolute http(s) URL, else refuse it."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be a string", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field}: longer than {max_length} characters", field=field)
    value = value.strip()
    if any(c.isspace() or not c.isprintable() for c in value):
        raise InvalidInput(f"{field}: a URL has no spaces or control characters (encode them as %20…)",
                           field=field)
    try:
        parsed = urlsplit(value)
        # Reading the host and port checks them too: urlsplit raises for a broken
        # bracketed host ("http://[zz]/"), .port for a port out of range.
        host, _ = parsed.hostname, parsed.port
    except ValueError as exc:
        raise Unprocessable(f"{field}: not a valid URL ({exc})", field=field) from None
    if parsed.scheme not in ("http", "https") or not host:
        raise Unprocessable(f"{field}: must be an http(s) URL, not {value[:100]!r}", field=field)
    return value


def refuse_unstorable_text(data, field=None):
    """Refuse text that a database cannot store, anywhere in ``data`` (nested
    objects and lists, keys too): the NUL character, which PostgreSQL refuses,
    and lone surrogates, which are not UTF-8. The error names the field
    (``overrides.linkedin``). The walk is a loop, not a recursion, and takes
    the whole request before any other check looks at it."""
    todo = [(field, data)]
    while todo:
        where, value = todo.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                path = f"{where}.{key}" if where else key
                if isinstance(key, str) and not _storable(key):
                    raise InvalidInput(f"{where or 'body'}: a field name holds a NUL character or a "
                                       f"lone surrogate", field=where)
                todo.append((path, item))
        elif isinstance(value, list):
            todo.extend((where, item) for item in value)
        elif isinstance(value, str) and not _storable(value):
            raise InvalidInput(f"{where}: holds a NUL character or a lone surrogate, which no text "
                               f"may contain", field=where)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
