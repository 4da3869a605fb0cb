"""Who is acting, for the code that records or decides on their behalf.

The web process sets these for each request it serves (web/app.py: from the
signed-in user or the API token's user) and clears them when it ends; in the
workers and the scheduler nothing sets them, and the actor is socialpub itself.
They are context variables, not Flask's ``g``: the domain packages read them
without importing Flask, and each thread (or task) sees its own request's.
"""
from __future__ import annotations

from contextvars import ContextVar

#: The User the request being served acts as (None: socialpub itself).
user: ContextVar = ContextVar("acting_user", default=None)
#: The app's Settings while a request is served (None: not in a request).
settings: ContextVar = ContextVar("acting_settings", default=None)
#: Called as (subject, subject_id) after each audit line the request writes (audit.watch).
audit_watcher: ContextVar = ContextVar("audit_watcher", default=None)
#: Whose idempotency key the request holds (intake/idempotency.py).
idempotency_owner: ContextVar = ContextVar("idempotency_owner", default=None)

ALL = (user, settings, audit_watcher, idempotency_owner)


def clear() -> None:
    """Forget the request's values (a thread serves many requests, one after another)."""
    for variable in ALL:
        variable.set(None)
