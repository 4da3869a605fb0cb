"""socialpub's own series: what the workers count as they publish and the web
app as it answers. Increments are all the hot path pays: no database or
Redis call is made for a metric while publishing."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from ..networks.base import NETWORKS

logger = logging.getLogger(__name__)

# No *_created series: they double the series count and no panel uses them.
disable_created_metrics()

#: socialpub's metrics, apart from prometheus_client's default registry (which,
#: in a single process, also carries process and platform collectors).
REGISTRY = CollectorRegistry()

#: Final outcomes a worker records after calling a network ("adopted": an
#: earlier attempt whose answer was lost turned out to have published it).
PUBLICATION_OUTCOMES = ("published", "adopted", "partly_failed", "failed", "unconfirmed")
#: Outcomes of one call to a network, as in the Attempt rows.
ATTEMPT_OUTCOMES = ("published", "adopted", "retrying", "partly_failed", "failed", "unconfirmed")
#: Why a publication waits for another try (networks.ErrorKind values).
RETRY_KINDS = ("transient", "rate_limited")

#: Network calls take from tens of milliseconds to the time limit (300 s).
ATTEMPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60, 120, 300)
#: Web requests answer in milliseconds (a publish only enqueues).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

PUBLICATIONS = Counter(
    "socialpub_publications_total",
    "Publications a worker finished after calling their network, by final outcome.",
    ["network", "outcome"], registry=REGISTRY)
ATTEMPTS = Counter(
    "socialpub_attempts_total",
    "Calls made to a network (one Attempt row each), by outcome.",
    ["network", "outcome"], registry=REGISTRY)
ATTEMPT_ERRORS = Counter(
    "socialpub_attempt_errors_total",
    "Failed calls to a network, by error kind and the network's error code.",
    ["network", "kind", "code"], registry=REGISTRY)
RETRIES = Counter(
    "socialpub_retries_total",
    "Publications put back to wait for another try: transient errors and rate-limit waits.",
    ["network", "kind"], registry=REGISTRY)
ATTEMPT_SECONDS = Histogram(
    "socialpub_attempt_duration_seconds",
    "Time spent calling a network for one attempt.",
    ["network"], buckets=ATTEMPT_BUCKETS, registry=REGISTRY)
IN_PROGRESS = Gauge(
    "socialpub_publications_in_progress",
    "Publications a worker is calling a network for right now.",
    ["network"], multiprocess_mode="livesum", registry=REGISTRY)
WEBHOOK_DELIVERIES = Counter(
    "socialpub_webhook_deliveries_total",
    "Tries of webhook deliveries, by outcome: delivered, retrying, failed (gave up), gone (410).",
    ["outcome"], registry=REGISTRY)
HTTP_REQUESTS = Counter(
    "socialpub_http_requests_total",
    "Web requests answered, by Flask endpoint and status code.",
    ["endpoint", "status"], registry=REGISTRY)
HTTP_SECONDS = Histogram(
    "socialpub_http_request_duration_seconds",
    "Time to answer a web request, by Flask endpoint (publishing: api.publish_post, web.publish, …).",
    ["endpoint"], buckets=REQUEST_BUCKETS, registry=REGISTRY)


@contextmanager
def network_call(network: str):
    """Count a call to ``network`` as in progress and time it, however it ends."""
    in_progress = IN_PROGRESS.labels(network)
    in_progress.inc()
    start = time.perf_counter()
    try:
        yield
    finally:
        ATTEMPT_SECONDS.labels(network).observe(time.perf_counter() - start)
        in_progress.dec()


def published(network: str, outcome: str):
    """The network has the item (``outcome`` "published" or "adopted")."""
    ATTEMPTS.labels(network, outcome).inc()
    PUBLICATIONS.labels(network, outcome).inc()


def retrying(network: str, error):
    """A transient error or a rate limit: the publication waits for another try."""
    ATTEMPTS.labels(network, "retrying").inc()
    RETRIES.labels(network, error.kind.value).inc()
    _count_error(network, error)


def gave_up(network: str, status: str, error):
    """A final failure: ``status`` is "failed", "unconfirmed" or "expired" (a wait past the maximum age)."""
    ATTEMPTS.labels(network, status).inc()
    PUBLICATIONS.labels(network, status).inc()
    _count_error(network, error)


def webhook_delivered(outcome: str):
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def _count_error(network, error):
    # Error codes are the networks' own (Graph codes, HTTP statuses): a bounded set.
    ATTEMPT_ERRORS.labels(network, error.kind.value, (error.error_code or "none")[:32]).inc()


def initialise_worker_series():
    """Create every network × outcome series at zero, so that rates and alerts
    see a zero, not a missing series, before the first publication."""
    for network in NETWORKS:
        for outcome in PUBLICATION_OUTCOMES:
            PUBLICATIONS.labels(network, outcome)
        for outcome in ATTEMPT_OUTCOMES:
            ATTEMPTS.labels(network, outcome)
        for kind in RETRY_KINDS:
            RETRIES.labels(network, kind)
        ATTEMPT_SECONDS.labels(network)
        IN_PROGRESS.labels(network)
    for outcome in ("delivered", "retrying", "failed", "gone"):
        WEBHOOK_DELIVERIES.labels(outcome)


