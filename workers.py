"""The worker entry point: ``dramatiq workers``, and ``periodiq workers`` for the scheduler."""
from socialpub.worker.boot import broker, publish  # noqa: F401
