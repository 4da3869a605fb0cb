"""The worker entry point: ``dramatiq workers``, and ``periodiq workers`` for the scheduler."""
from socialpub.worker import broker, publish, publish_due_posts, reconcile  # noqa: F401
