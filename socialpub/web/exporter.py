"""The web app's ``GET /metrics``: its request series, and gauges read from the
database and Redis at scrape time (publications by status, channels needing
re-authorisation, the oldest queued publication, queue depths, workers alive)."""
from __future__ import annotations

import logging
import os
import time

import redis
from flask import Response, g, request
from peewee import PeeweeException
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from ..analytics import reports
from ..metrics.files import multiprocess_dir
from ..metrics.series import HTTP_REQUESTS, HTTP_SECONDS, REGISTRY
from ..models import utcnow
from ..networks.base import NETWORKS
from ..worker.broker import declared_queues, redis_client
from ..worker.middleware import read_workers
from .monitor import stats

logger = logging.getLogger(__name__)


class StateCollector:
    """Gauges read from the database and Redis when Prometheus scrapes.

    Runs inside the ``/metrics`` request (its database connection is open).
    A source that does not answer is reported by ``socialpub_scrape_source_up``
    instead of failing the scrape.
    """

    def __init__(self, settings, redis_client, queues):
        self.settings, self.redis, self.queues = settings, redis_client, queues

    def collect(self):
        up = GaugeMetricFamily("socialpub_scrape_source_up",
                               "1 if the source answered this scrape (database, redis).", labels=["source"])
        try:
            yield from self._database_gauges(stats)
            up.add_metric(["database"], 1)
        except PeeweeException as exc:
            logger.warning("Metrics: the database did not answer (%s).", exc)
            up.add_metric(["database"], 0)
        try:
            yield from self._redis_gauges(stats)
            up.add_metric(["redis"], 1)
        except (redis.RedisError, OSError) as exc:
            logger.warning("Metrics: Redis did not answer (%s).", exc)
            up.add_metric(["redis"], 0)
        yield up

    def _database_gauges(self, stats):
        # Computed in full before anything is yielded: a failing query yields nothing.
        counts = stats.publication_counts()
        reauth = stats.channels_needing_reauth()
        expiring = stats.channels_expiring_soon()
        oldest = stats.oldest_queued_age_s()
        failing = stats.webhooks_failing()
        in_use = stats.api_versions_in_use(self.settings.api_versions())
        engagement = reports.channel_gauges(utcnow())
        by_status = GaugeMetricFamily("socialpub_publications_by_status",
                                      "Publications in each status now (database).",
                                      labels=["network", "status"])
        for (network, status), count in sorted(counts.items()):
            by_status.add_metric([network, status], count)
        channels = GaugeMetricFamily("socialpub_channels_needing_reauth",
                                     "Channels whose token the network refused (database).",
                                     labels=["network"])
        soon = GaugeMetricFamily("socialpub_channels_expiring_soon",
                                 "Channels whose token expires within 7 days and cannot be refreshed: "
                                 "reconnect them (database).", labels=["network"])
        for network in NETWORKS:
            channels.add_metric([network], sum(1 for c in reauth if c["network"] == network))
            soon.add_metric([network], sum(1 for c in expiring if c["network"] == network))
        age = GaugeMetricFamily("socialpub_oldest_queued_publication_age_seconds",
                                "Age of the oldest publication queued and not yet taken by a worker "
                                "(0 when none waits).")
        age.add_metric([], oldest or 0.0)
        hooks = GaugeMetricFamily("socialpub_webhook_endpoint_failing_seconds",
                                  "How long each enabled webhook endpoint's deliveries have kept failing "
                                  "(0: the last one worked).", labels=["endpoint"])
        for endpoint_id, seconds in failing:
            hooks.add_metric([str(endpoint_id)], seconds)
        days_left = GaugeMetricFamily("socialpub_api_version_days_left",
                                      "Days until the network stops serving an API version socialpub uses "
                                      "(configured, or a channel's own); versions without an announced end "
                                      "are left out.", labels=["network", "version"])
        for row in in_use:
            if row["days_left"] is not None:
                days_left.add_metric([row["network"], row["version"]], row["days_left"])
        followers = GaugeMetricFamily("socialpub_channel_followers", "Each channel's followers as last read "
                                      "(analytics; channels whose network gives none are left out).",
                                      labels=["channel", "network"])
        recent = {name: GaugeMetricFamily(f"socialpub_channel_{name}_7d", f"The {name} of each channel's items "
                                          f"published in the last {reports.GAUGE_DAYS} days, as last read "
                                          "(analytics).", labels=["channel", "network"])
                  for name in ("views", "reach", "engagement")}
        for row in engagement:
            labels = [str(row["channel_id"]), row["network"]]
            if row["followers"] is not None:
                followers.add_metric(labels, row["followers"])
            for name, gauge in recent.items():
                if row[name] is not None:
                    gauge.add_metric(labels, row[name])
        return [by_status, channels, soon, age, hooks, days_left, followers, *recent.values()]

    def _redis_gauges(self, stats):
        depths = stats.queue_depths(self.redis, self.queues)
        workers = [w for w in read_workers(self.redis, heartbeat_timeout_ms=self.settings.heartbeat_timeout_ms)
                   if w["alive"]]
        queue = GaugeMetricFamily("socialpub_queue_messages",
                                  "Dramatiq messages in Redis: ready (waiting for a worker), in_flight "
                                  "(fetched, not yet acknowledged), delayed (retries and delays), dead "
                                  "(dead-lettered).", labels=["queue", "state"])
        for name, states in sorted(depths.items()):
            for state, count in states.items():
                queue.add_metric([name, state], count)
        alive = GaugeMetricFamily("socialpub_workers_alive",
                                  "Worker processes whose Dramatiq heartbeat is recent.")
        alive.add_metric([], len(workers))
        threads = GaugeMetricFamily("socialpub_worker_threads", "Worker threads in the live worker processes.")
        threads.add_metric([], sum(w.get("threads", 0) for w in workers))
        return [queue, alive, threads]


class _Forward:
    """Serves another registry's metrics from a scrape registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def render(app) -> tuple[bytes, str]:
    """The web process's metrics text and its content type."""
    settings = app.extensions["socialpub"]
    registry = CollectorRegistry()
    folder = multiprocess_dir()
    if folder:
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(StateCollector(settings, redis_client(app), declared_queues(settings)))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def init_app(app):
    """Serve ``/metrics`` and time every request."""
    folder = multiprocess_dir()
    if folder:
        os.makedirs(folder, exist_ok=True)

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            endpoint = request.endpoint or "unmatched"
            HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(endpoint, str(response.status_code)).inc()
        return response

    def metrics_view():
        """Prometheus' scrape target for the web side."""
        body, content_type = render(app)
        return Response(body, content_type=content_type)

    app.add_url_rule("/metrics", "metrics", metrics_view)
