"""Who may do what: three roles, each able to do what the one before it can.

- *viewer*: reads everything (pages and the API), and keeps their own account
  (password, their own API tokens, signing out).
- *editor*: also composes, edits, schedules, publishes, retries, cancels and
  deletes posts, and uploads and deletes photos.
- *admin*: also connects and changes channels, manages the team (invitations,
  roles, disabling), and clears the dead letters.

A view says the role it needs with :func:`requires`; one that does not is open
to viewers when it only reads (GET) and to editors when it changes something.
The gate (gate.py) checks it on every request after finding who is asking; an
API token acts with its user's role. tests/web/test_roles.py holds the table of
every route and the role it needs.
"""
from __future__ import annotations

VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
#: In increasing power: each role may do what the ones before it may.
ROLES = (VIEWER, EDITOR, ADMIN)
DESCRIPTIONS = {
    VIEWER: "reads posts, channels and the monitor",
    EDITOR: "also writes, schedules and publishes posts",
    ADMIN: "also manages channels and the team",
}
#: Methods that change nothing (RFC 9110 §9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def requires(role: str):
    """Mark a view as needing ``role`` (or a stronger one), whatever the method."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def mark(view):
        view.role_needed = role
        return view
    return mark


def needed(view, method: str) -> str:
    """The role a request to ``view`` with ``method`` needs."""
    marked = getattr(view, "role_needed", None)
    if marked:
        return marked
    return VIEWER if method in SAFE_METHODS else EDITOR


def allows(role: str, wanted: str) -> bool:
    """Whether someone with ``role`` may do what needs ``wanted``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(wanted)


def refusal_message(role: str, wanted: str) -> str:
    return f"your role is {role}; this needs the {wanted} role ({DESCRIPTIONS[wanted]}) — ask an admin"
