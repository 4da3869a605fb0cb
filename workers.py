"""The worker entry point: ``dramatiq workers`` (and, later, ``periodiq workers``)."""
from socialpub.worker import broker, publish  # noqa: F401
