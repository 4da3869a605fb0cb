"""What the ``dramatiq`` and ``periodiq`` CLIs import (``socialpub.worker``, or the
top-level ``workers.py``):
settings from the environment, the database bound, the broker set, then the
actors declared on it."""
from .broker import setup_broker
from .config import Settings
from .db import bind

settings = Settings.from_env()
bind(settings.database_url)
broker = setup_broker(settings)

from .actors import publish, publish_due_posts, reconcile  # noqa: E402,F401  (declared on the broker above)
