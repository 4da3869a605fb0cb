"""The auth blueprint; registering it installs the gate every request passes."""
from flask import Blueprint

from .gate import require_identity

bp = Blueprint("auth", __name__, template_folder="templates")


@bp.record_once
def install_gate(state):
    state.app.before_request(require_identity)
