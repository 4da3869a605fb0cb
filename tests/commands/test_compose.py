"""docker-compose.yml without a Docker engine: it validates against the Compose
specification's JSON schema (tests/data/compose_spec.json, from docker-compose
1.29.2, Apache-2.0), every command it runs exists in this package and parses,
the files it mounts exist, and the monitoring services are wired to each other."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services_running(compose, command_name):
    return {name: s for name, s in compose["services"].items() if s.get("command", [None])[0] == command_name}


def test_the_compose_file_validates_against_the_compose_specification(compose):
    schema = json.loads((DATA / "compose_spec.json").read_text())
    # What docker-compose 1.29.2 itself used: draft 4, with its "ports"/"expose" formats.
    checker = jsonschema.FormatChecker()
    checker.checks("ports", raises=ValueError)(lambda v: bool(re.fullmatch(r"[\d.:\-/a-z]+", str(v))))
    checker.checks("expose", raises=ValueError)(lambda v: bool(re.fullmatch(r"\d+(-\d+)?(/(tcp|udp))?", str(v))))
    errors = sorted(jsonschema.Draft4Validator(schema, format_checker=checker).iter_errors(compose),
                    key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_every_service_builds_or_pulls_an_image_and_every_dependency_exists(compose):
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "scheduler", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        assert service.get("image"), f"{name} has no image"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
    for name in ("postgres", "redis", "web", "worker", "prometheus", "grafana"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_every_socialpub_command_in_the_compose_file_parses(compose):
    """`socialpub …` commands resolve to click commands, and their options exist."""
    import click

    from socialpub.commands.cli import main

    found = services_running(compose, "socialpub")
    assert {"migrate", "sandbox"} <= set(found)
    for name, service in found.items():
        args = list(service["command"][1:])
        command, ctx = main, main.make_context("socialpub", [], resilient_parsing=True)
        while isinstance(command, click.Group):
            sub_name, args = args[0], args[1:]
            command = command.get_command(ctx, sub_name)
            assert command is not None, f"{name}: no command {sub_name!r}"
            ctx = command.make_context(sub_name, list(args), parent=ctx, resilient_parsing=True) \
                if isinstance(command, click.Group) else ctx
        command.make_context(sub_name, list(args), parent=ctx)  # raises on an unknown option


def test_the_console_scripts_the_compose_file_runs_are_installed_with_the_package(compose):
    scripts = {ep.name: ep for ep in entry_points(group="console_scripts")}
    commands = {s["command"][0] for s in compose["services"].values()
                if s.get("build") or s.get("image", "").startswith("socialpub")}
    assert commands == {"socialpub", "gunicorn", "dramatiq", "periodiq"}
    requirements = (ROOT / "setup.cfg").read_text()
    for command in commands:
        assert command in scripts, f"{command} is no console script of an installed package"
        assert (BIN / command).exists() or shutil.which(command), f"{command} is not installed"
        distribution = scripts[command].dist.name.lower()
        assert distribution == "socialpub" or re.search(rf"^\s+{distribution}\b", requirements, re.M), \
            f"{command} comes from {distribution}, which setup.cfg does not require"


def app_environment(tmp_path, redis_url):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'compose.db'}", REDIS_URL=redis_url,
               SOCIALPUB_INSTANCE=str(tmp_path), SECRET_KEY="test")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def test_the_gunicorn_dramatiq_and_periodiq_commands_load_their_modules(compose, tmp_path, redis_url):
    """Run from the image's working folder (the repository root): gunicorn checks
    its configuration and loads wsgi:app; dramatiq and periodiq parse their
    arguments and import the broker module they name."""
    env = app_environment(tmp_path, redis_url)
    web = compose["services"]["web"]["command"]
    result = subprocess.run([str(BIN / "gunicorn"), "--check-config", *web[1:]], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    from dramatiq.cli import make_argument_parser

    worker = compose["services"]["worker"]["command"]
    args = make_argument_parser().parse_args(worker[1:])
    assert (args.broker, args.processes, args.threads) == ("workers", 2, 8)
    scheduler = compose["services"]["scheduler"]["command"]
    for module in {args.broker, *args.modules, *scheduler[1:]}:
        check = subprocess.run(
            [sys.executable, "-c", f"import {module}; print(type({module}.broker).__name__)"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0 and "RedisBroker" in check.stdout, check.stdout + check.stderr


def test_the_files_the_compose_file_mounts_exist(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in compose.get("volumes", {}), f"{name} uses undeclared volume {source}"


def test_web_and_workers_write_their_metric_files_to_a_fresh_tmpfs(compose):
    web, worker = compose["services"]["web"], compose["services"]["worker"]
    web_dir = web["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    worker_dir = worker["environment"]["dramatiq_prom_db"]
    assert any(t.startswith(f"{web_dir}:") or t == web_dir for t in web["tmpfs"])
    assert any(t.startswith(f"{worker_dir}:") or t == worker_dir for t in worker["tmpfs"])
    assert worker["environment"]["dramatiq_prom_host"] == "0.0.0.0"
    # The shared settings still reach both (the per-service environment merges them in).
    for service in (web, worker):
        assert service["environment"]["SOCIALPUB_DATABASE_URL"].startswith("postgresql://")
    assert "/app/metrics" in (ROOT / "Dockerfile").read_text()


def test_prometheus_scrapes_the_services_and_grafana_gets_its_datasource_and_dashboard(compose):
    services = compose["services"]
    config = yaml.safe_load((ROOT / "grafana" / "prometheus.yml").read_text())
    targets = {job["job_name"]: sd for job in config["scrape_configs"] for sd in job.get("dns_sd_configs", [])}
    assert targets["socialpub-web"]["names"] == ["web"] and targets["socialpub-web"]["port"] == 5000
    assert targets["socialpub-workers"]["names"] == ["worker"]
    assert str(targets["socialpub-workers"]["port"]) == services["worker"]["environment"]["dramatiq_prom_port"]
    assert "5000:5000" in services["web"]["ports"]

    mounts = dict(v.split(":")[:2] for v in services["prometheus"]["volumes"] if v.startswith("."))
    assert mounts["./grafana/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    rule_files = [str(Path("/etc/prometheus") / f) for f in config["rule_files"]]
    assert all(f in mounts.values() for f in rule_files), (rule_files, mounts)

    grafana = services["grafana"]
    assert "3000:3000" in grafana["ports"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("."))
    provisioning = ROOT / "grafana" / "provisioning"
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards" / "socialpub.yml").read_text())["providers"][0]
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].startswith(provider["options"]["path"])

    dashboard = json.loads((ROOT / "grafana" / "dashboards" / "socialpub.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"] and all(t["datasource"]["uid"] == datasource["uid"] for t in panel["targets"])
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


@pytest.mark.parametrize("variable", ["SOCIALPUB_ENCRYPTION_KEYS", "SOCIALPUB_SECRET_KEY"])
def test_every_app_container_needs_the_same_keys_and_none_has_a_default(compose, variable):
    """Web, workers, scheduler and migrate read each other's tokens and sessions:
    without one shared SOCIALPUB_ENCRYPTION_KEYS each would make a key of its
    own, and a default SOCIALPUB_SECRET_KEY would let anyone forge a session."""
    for name, service in compose["services"].items():
        if service.get("image", "").startswith("socialpub"):
            value = service.get("environment", {}).get(variable, "")
            assert value.startswith(f"${{{variable}:?"), f"{name}: {value!r}"
