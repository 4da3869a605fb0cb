"""The web blueprint: pages for people (the compose form comes with its own issue)."""
from flask import Blueprint, jsonify

from ..db import database

bp = Blueprint("web", __name__, template_folder="templates")


@bp.get("/healthz")
def healthz():
    """Liveness for load balancers and compose: the database answers."""
    database.execute_sql("SELECT 1")
    return jsonify({"status": "ok"})


from . import pages  # noqa: E402,F401
