"""Reading the web pages in tests: fields, their values and their errors."""
from __future__ import annotations

import json
import re
from html import unescape

from socialpub import db
from socialpub.models import Post, Publication


def page(response) -> str:
    return response.get_data(as_text=True)


def textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, f"no textarea {name!r}"
    return unescape(match.group(1))


def input_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    assert match, f"no input {name!r}"
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return unescape(value.group(1)) if value else ""


def checked_channels(html: str) -> list:
    return sorted(int(v) for v in re.findall(r'name="channels" value="(\d+)"[^>]*\bchecked', html))


def field_errors(html: str, name: str) -> list:
    """The messages shown next to field ``name`` (the ones its aria-describedby points at)."""
    return [unescape(m) for m in re.findall(rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', html, re.S)]


def csrf_token(html: str) -> str:
    return input_value(html, "csrf_token")


def json_script(html: str, element_id: str):
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, f"no JSON script {element_id!r}"
    return json.loads(match.group(1))


def count_rows():
    with db.database.connection_context():
        return Post.select().count(), Publication.select().count()
