"""The auth blueprint: sign-in and sign-out, the account page (password, API
tokens), and the gate every request passes (see :mod:`.gate`)."""
from flask import Blueprint

from .gate import public, require_identity

bp = Blueprint("auth", __name__, template_folder="templates")


@bp.record_once
def install_gate(state):
    state.app.before_request(require_identity)


from . import routes  # noqa: E402,F401  (routes register on import)

__all__ = ["bp", "public"]
