"""Prometheus metrics: what the workers count as they publish, what the web app
counts as it answers, and what is read from the database and Redis whenever
Prometheus scrapes the web app's ``/metrics``.

Where each is served:

* **Workers** (``dramatiq socialpub.worker.boot``): Dramatiq's exposition server,
  which the ``dramatiq`` CLI forks on ``dramatiq_prom_host:dramatiq_prom_port``
  (default 0.0.0.0:9191), sums what every worker process wrote to the
  memory-mapped files in ``dramatiq_prom_db``: ours (``socialpub_publications_total``,
  ``socialpub_attempts_total``, …) and Dramatiq's own (``dramatiq_messages_total``, …).
* **Web** (``GET /metrics``): request counts and latency, and gauges computed at
  scrape time: publications by status, channels needing re-authorisation and
  the oldest queued publication (database), queue depth and workers alive (Redis).
  Gunicorn with several workers needs ``PROMETHEUS_MULTIPROC_DIR`` (an empty
  folder per run), or each scrape would see one worker's counts.

prometheus_client chooses between in-process and multiprocess values when it is
first imported, so ``PROMETHEUS_MULTIPROC_DIR`` must be in the environment
before this module is imported (``socialpub.worker.boot`` sets it for workers).

Increments are all the hot path pays: no database or Redis call is made for a
metric while publishing.
"""
