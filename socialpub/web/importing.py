"""Importing posts from a CSV file on the posts list: every line's problem is
shown before anything is saved; a file without any is imported whole, in one
transaction. The page lists the channels a line can name."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..errors import AppError
from ..intake import csv_posts
from ..lifecycle import creating
from ..people.roles import EDITOR, requires
from .blueprint import NETWORK_LABELS, bp, enabled_channels


@bp.route("/posts/import", methods=["GET", "POST"])
@requires(EDITOR)
def import_posts():
    if request.method == "GET":
        return render_template("web/import.html", problems=[], columns=csv_posts.COLUMNS, channels=enabled_channels(),
                               labels=NETWORK_LABELS)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise AppError("file: choose a CSV file", field="file")
        posts = creating.create_posts(csv_posts.requests_of(upload.read(), request.form.get("timezone") or None))
    except AppError as exc:
        problems = exc.details or [{"line": None, "field": exc.field, "message": exc.message}]
        return render_template("web/import.html", problems=problems, columns=csv_posts.COLUMNS,
                               summary=exc.message if exc.details else None, channels=enabled_channels(),
                               labels=NETWORK_LABELS), 422
    flash(f"Imported {len(posts)} post{'' if len(posts) == 1 else 's'}.", "success")
    return redirect(url_for("web.posts"))
