"""The worker entry point: ``dramatiq workers``, and ``periodiq workers`` for the scheduler."""
from socialpub.worker import broker, publish, reconcile  # noqa: F401
