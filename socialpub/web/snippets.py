"""The Snippets page: the team's saved texts and hashtag groups, each with its shortcut and its variants per
network; editors add, change and delete them (campaigns/snippets.py). The compose form inserts them
(static/snippets.js)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from ..campaigns import snippets
from ..errors import AppError
from ..networks import NETWORKS
from ..people.roles import EDITOR, requires
from .blueprint import bp


def _form_values(form) -> dict:
    return {"name": form.get("name", ""), "shortcut": (form.get("shortcut") or "").strip().lstrip("/"),
            "kind": form.get("kind") or "text", "body": form.get("body", ""),
            "variants": {n: form.get(f"variant_{n}", "") for n in NETWORKS if form.get(f"variant_{n}", "").strip()}}


@bp.get("/snippets")
def snippets_page():
    return render_template("web/snippets.html", listed=snippets.listed(), values={}, errors={}, networks=NETWORKS)


@bp.post("/snippets")
@requires(EDITOR)
def add_snippet():
    values = _form_values(request.form)
    try:
        snippet = snippets.create(values, g.user.id)
    except AppError as exc:
        return render_template("web/snippets.html", listed=snippets.listed(), values=values,
                               errors={exc.field.split(".")[0] if exc.field else "body": exc.message},
                               networks=NETWORKS), exc.status
    flash(f"Saved “{snippet.name}”: type /{snippet.shortcut} in the compose form, or pick it from its menu.",
          "success")
    return redirect(url_for("web.snippets_page"))


@bp.post("/snippets/<int:snippet_id>/delete")
@requires(EDITOR)
def delete_snippet(snippet_id):
    try:
        snippets.delete(snippet_id)
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash("The snippet was deleted; posts that used it keep their text.", "success")
    return redirect(url_for("web.snippets_page"))
