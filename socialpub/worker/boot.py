"""What the ``dramatiq`` and ``periodiq`` CLIs import (``socialpub.worker.boot``, or
the top-level ``workers.py``):
settings from the environment, the database bound, the broker set, then the
actors declared on it."""
import os

from dramatiq.middleware.prometheus import DB_PATH as METRICS_DIR

# prometheus_client picks in-process or multiprocess values when first imported
# (by socialpub.metrics, below): point it at the folder that Dramatiq's
# exposition server reads (dramatiq_prom_db) before that happens.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR

from ..config import Settings  # noqa: E402
from ..db import bind  # noqa: E402
from ..encryption import use_keys  # noqa: E402
from ..metrics.files import prune_dead_processes  # noqa: E402
from ..networks.outbound import guard_api_calls  # noqa: E402
from .broker import setup_broker  # noqa: E402

prune_dead_processes(METRICS_DIR)
settings = Settings.from_env()
bind(settings.database_url)
use_keys(settings.ensure_encryption_keys())
guard_api_calls(settings.outbound_allow)
broker = setup_broker(settings, worker_metrics=True)

from .actors import apply_meta_notification, deliver_webhook, fetch_image, publish, send_email  # noqa: E402,F401
from .periodic import JOBS  # noqa: E402,F401  (declared on the broker above)
