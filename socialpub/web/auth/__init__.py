"""Sign-in and sign-out, the account page (password, API tokens), and the gate
every request passes (see :mod:`.gate`)."""
from . import routes, team_pages  # noqa: F401  (their routes register on the blueprint)
from .blueprint import bp
from .gate import public

__all__ = ["bp", "public"]
