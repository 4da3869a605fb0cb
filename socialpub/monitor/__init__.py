"""The monitor blueprint: ``/monitor`` (a page) and ``/monitor.json`` — what
the workers are doing, from the database and Redis, for those who run the
embedded default without Grafana. Registering it also serves ``/metrics``
(see :mod:`socialpub.metrics`)."""
from flask import Blueprint

from .. import metrics

bp = Blueprint("monitor", __name__, template_folder="templates")


@bp.record_once
def serve_metrics(state):
    metrics.init_app(state.app)


from . import routes  # noqa: E402,F401  (routes register on import)
