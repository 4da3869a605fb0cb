"""Snippets and hashtag groups through the API (campaigns/snippets.py): everyone reads them, editors keep them."""
from __future__ import annotations

from flask import g

from ...campaigns import snippets
from ...models import iso
from ...people.roles import EDITOR, requires
from .. import shapes
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body


def _shape(s) -> shapes.Snippet:
    return shapes.Snippet(id=s.id, name=s.name, shortcut=s.shortcut, kind=s.kind, body=s.body,
                          variants=s.variants or {}, updated_at=iso(s.updated_at))


@bp.get("/snippets")
def list_snippets():
    return answer(shapes.SnippetList, items=[_shape(s) for s in snippets.listed()])


@bp.post("/snippets")
@requires(EDITOR)
def create_snippet():
    return answer(_shape(snippets.create(json_body(shapes.NewSnippet, values=False), g.user.id)), 201)


@bp.patch("/snippets/<int:snippet_id>")
@requires(EDITOR)
def change_snippet(snippet_id):
    return answer(_shape(snippets.change(snippet_id, json_body(shapes.ChangeSnippet, values=False))))


@bp.delete("/snippets/<int:snippet_id>")
@requires(EDITOR)
def delete_snippet(snippet_id):
    snippets.delete(snippet_id)
    return "", 204
