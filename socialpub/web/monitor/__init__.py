"""The monitor blueprint: ``/monitor`` (a page) and ``/monitor.json`` — what
the workers are doing, from the database and Redis, for those who run the
embedded default without Grafana."""
from . import routes  # noqa: F401  (its routes register on the blueprint)
from .blueprint import bp

__all__ = ["bp"]
