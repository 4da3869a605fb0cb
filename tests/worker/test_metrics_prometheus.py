"""A real Prometheus (Debian's) scrapes the web app and two real worker
processes on loopback; after a small workload, every query of every panel of
the Grafana dashboard returns data, and the alert rules load and pass their
promtool unit tests. A panel naming a metric nothing exports fails here.

Without prometheus/promtool these tests fail when CI=true and are skipped,
saying why, elsewhere (.ci/run installs Debian's prometheus).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from socialpub.worker.broker import redis_client

from tests.support.processes import all_final, wait_for
from tests.support.workers import FAULTS, MetricsWorkerCLI, ServedApp, free_port, publish_posts

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "socialpub.json"
#: What Grafana puts in place of its variables, for a test run that just happened.
SUBSTITUTIONS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m", "$network": ".*"}
METRIC_NAME = re.compile(r"\b((?:socialpub|dramatiq)_[a-z0-9_]+)")


def tool(name) -> str:
    found = shutil.which(name)
    if not found:
        message = (f"{name} not found: the Prometheus tests need Debian's prometheus package "
                   f"(apt-get install -y prometheus; .ci/run does it)")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def panel_queries():
    """(panel title, expression with Grafana's variables substituted) for every target."""
    dashboard = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in SUBSTITUTIONS.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"panel {panel['title']!r}: unsubstituted variable in {expr}"
            queries.append((panel["title"], expr))
    return queries


def test_the_alert_rules_and_the_prometheus_config_load_and_the_alerts_fire_as_described():
    promtool = tool("promtool")
    for args in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"],
                 ["test", "rules", "alerts.test.yml"]):
        result = subprocess.run([promtool, *args], cwd=GRAFANA, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    rules = yaml.safe_load((GRAFANA / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {"SocialpubPublishFailureRateHigh", "SocialpubQueueBacklog",
                                           "SocialpubNoWorker", "SocialpubChannelNeedsReauthorisation"}


def prometheus_config(web_url, workers_port, rules) -> dict:
    """grafana/prometheus.yml with its jobs pointed at this test's ports, scraping every second."""
    config = yaml.safe_load((GRAFANA / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(rules)]
    targets = {"socialpub-web": web_url.split("//", 1)[1], "socialpub-workers": f"127.0.0.1:{workers_port}"}
    jobs = [job for job in config["scrape_configs"] if job["job_name"] in targets]
    assert {job["job_name"] for job in jobs} == set(targets), "grafana/prometheus.yml lost a socialpub job"
    for job in jobs:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    config["scrape_configs"] = jobs
    return config


class Prometheus:
    """`prometheus` on a free loopback port with a throwaway storage folder."""

    def __init__(self, config: dict, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        self.log = open(workdir / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            [tool("prometheus"), f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path, **params):
        response = requests.get(f"{self.url}{path}", params=params, timeout=10)
        body = response.json()
        assert body.get("status") == "success", body
        return body["data"]

    def targets_up(self) -> bool:
        try:
            active = self.get("/api/v1/targets")["activeTargets"]
        except (requests.RequestException, ValueError):
            return False
        return len(active) == 2 and all(t["health"] == "up" for t in active)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def test_every_dashboard_panel_returns_data_from_a_real_prometheus(
        app, sandbox, sandbox_client, sandbox_channels, settings, tmp_path):
    tool("promtool")
    queries = panel_queries()
    assert len(queries) >= 20
    sandbox_client.configure(**FAULTS)
    workers = MetricsWorkerCLI(settings, tmp_path / "worker.log", tmp_path / "metrics")
    workers.start()
    prometheus = None
    try:
        workers.wait_ready(redis_client(app))
        with ServedApp(app) as web:
            (tmp_path / "prometheus").mkdir()
            prometheus = Prometheus(prometheus_config(web.url, workers.port, GRAFANA / "alerts.yml"),
                                    tmp_path / "prometheus")
            wait_for(prometheus.targets_up, 60, "Prometheus to scrape the web app and the workers")
            publish_posts(web, sandbox, 6, "dashboard")
            wait_for(all_final, 60, "every publication to reach a final state", interval=0.2)
            time.sleep(3)  # a few more scrapes after the last change

            exported = set(prometheus.get("/api/v1/label/__name__/values"))
            empty = []
            for title, expr in queries:
                for name in METRIC_NAME.findall(expr):
                    base = re.sub(r"_(bucket|sum|count)$", "", name)
                    assert name in exported or f"{base}_bucket" in exported, \
                        f"panel {title!r} queries {name}, which nothing exports"
                if not prometheus.get("/api/v1/query", query=expr)["result"]:
                    empty.append((title, expr))
            assert not empty, "panels without data:\n" + "\n".join(f"  {t}: {e}" for t, e in empty)

            # The success rate says what the database says: LinkedIn refused one post of six.
            rate = prometheus.get("/api/v1/query", query=(
                'sum by (network) (increase(socialpub_publications_total{outcome=~"published|adopted"}[5m]))'
                ' / sum by (network) (increase(socialpub_publications_total[5m]))'))["result"]
            by_network = {r["metric"]["network"]: float(r["value"][1]) for r in rate}
            assert by_network["facebook"] == pytest.approx(1.0)
            assert by_network["linkedin"] < 1.0
            rules = prometheus.get("/api/v1/rules")["groups"]
            loaded = [r for group in rules for r in group["rules"]]
            assert len(loaded) >= 4 and all(r["health"] == "ok" for r in loaded), loaded
    finally:
        if prometheus:
            prometheus.stop()
        workers.stop()
