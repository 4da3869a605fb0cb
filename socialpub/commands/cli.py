"""The ``socialpub`` command: ``up`` (the whole embedded stack), ``db upgrade``,
``sandbox``, ``worker``, ``seed-sandbox-channels``, ``rotate-key``, ``prune``."""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
import urllib.request

import click

from ..config import EMBEDDED_REDIS, Settings, renamed
from ..people import first_user
from . import users
from .supervisor import Output, Supervisor

logger = logging.getLogger("socialpub")

#: An idle Dramatiq consumer polls Redis with a backoff that grows up to this
#: many milliseconds (Dramatiq's default, 1000, adds up to a second before an
#: idle worker picks up a publish). 100 ms costs a few cheap polls a second.
WORKER_POLL_MS = "100"

#: `up`'s log, in the instance folder: every line of every process (supervisor.Output).
LOG_FILE = "socialpub.log"

#: The seed's per-network latencies, in seconds: the demo's "slow networks".
SEED_LATENCIES = "facebook=3,instagram=5,linkedin=4,whatsapp=2"


def _bind(settings, *, existing=True):
    """The database (one that must exist already unless ``existing`` is
    false), and the keys of the secrets stored in it."""
    from .. import schema
    from ..db import bind
    from ..encryption import use_keys

    database = schema.open_existing(settings) if existing else bind(settings.database_url)
    use_keys(settings.ensure_encryption_keys())
    return database


@click.group("db")
def db_group():
    """Database schema commands."""


@db_group.command("upgrade")
def db_upgrade():
    """Create the tables, or bring them up to date."""
    from .. import schema

    settings = Settings.from_env()
    database = _bind(settings, existing=False)
    with database.connection_context():
        before, after = schema.upgrade()
    click.echo(f"schema at version {after}" + (" (unchanged)" if before == after else f" (was {before})"))


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5055, show_default=True, type=int)
@click.option("--latency", default="", help="Per-network seconds, e.g. facebook=3,instagram=5")
@click.option("--whatsapp-webhook", default="", help="Where to POST WhatsApp's status webhooks (the app's "
              "/webhooks/meta), signed with $SANDBOX_WHATSAPP_APP_SECRET")
@click.option("--whatsapp-windows", type=click.Choice(["open", "inbound"]), default="open", show_default=True,
              help="open: every number takes free-form messages; inbound: only those who wrote in 24 hours")
@click.option("--whatsapp-throughput", type=click.IntRange(min=1), default=80, show_default=True,
              help="Messages a second each WhatsApp number may send before Meta's 130429 (Meta: 80, 1000 once "
                   "upgraded; one number's own through /_sandbox/config)")
def sandbox_command(host, port, latency, whatsapp_webhook, whatsapp_windows, whatsapp_throughput):
    """Serve the loopback stand-in for the four networks' APIs."""
    from ..sandbox.server import parse_latencies, run

    run(host, port, parse_latencies(latency), whatsapp={
        "webhook_url": whatsapp_webhook or None, "windows": whatsapp_windows,
        "app_secret": os.environ.get("SANDBOX_WHATSAPP_APP_SECRET") or None,
        "throughput": {"default": whatsapp_throughput}})


@click.command("worker")
@click.option("--processes", "-p", default=2, show_default=True)
@click.option("--threads", "-t", default=8, show_default=True)
def worker_command(processes, threads):
    """Run Dramatiq worker processes (threads suit network-bound publishing)."""
    os.environ.setdefault("dramatiq_worker_timeout", WORKER_POLL_MS)
    os.execvp(sys.executable, [sys.executable, "-m", "dramatiq", "socialpub.worker.boot",
                               "--processes", str(processes), "--threads", str(threads)])


@click.command("seed-sandbox-channels")
@click.option("--sandbox-url", default="http://127.0.0.1:5055", show_default=True)
def seed_command(sandbox_url):
    """Add one channel per network pointed at the sandbox (only if there are none)."""
    from ..intake.channels import seed_sandbox_channels

    database = _bind(Settings.from_env())
    with database.connection_context():
        added = seed_sandbox_channels(sandbox_url)
    click.echo(f"{added} sandbox channels added")


@click.command("rotate-key")
def rotate_key_command():
    """Re-encrypt every stored secret with the first key of SOCIALPUB_ENCRYPTION_KEYS."""
    from ..encryption import rotate
    from ..errors import SecretUnreadable
    from ..models import TABLES

    database = _bind(Settings.from_env())
    with database.connection_context():
        try:
            changed, current = rotate(TABLES)
        except SecretUnreadable as exc:
            raise click.ClickException(f"{exc.message} (nothing was changed)") from None
    click.echo(f"{changed} secret(s) re-encrypted with the first key; {current} already were. "
               f"Keys after the first may now be removed.")


@click.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def prune_command(dry_run):
    """Remove what is past its retention (SOCIALPUB_RETENTION_DAYS, SOCIALPUB_AUDIT_RETENTION_DAYS), as the hourly
    job does."""
    from .. import retention

    settings = Settings.from_env()
    database = _bind(settings)
    with database.connection_context():
        done = retention.prune(settings, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for item in done:
        if item.cutoff is None:
            click.echo(f"{item.kind}: kept for ever")
        else:
            click.echo(f"{item.kind}: {verb} {item.rows} (older than {item.cutoff:%Y-%m-%d %H:%M} UTC)")


@click.command("up")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--sandbox-port", default=5055, show_default=True, type=int)
@click.option("--latency", default=SEED_LATENCIES, show_default=True,
              help="Sandbox latency per network, in seconds.")
@click.option("--no-sandbox", is_flag=True, help="Do not start the sandbox.")
@click.option("--worker-processes", default=1, show_default=True)
@click.option("--worker-threads", default=8, show_default=True)
@click.option("--metrics-port", type=int, default=None,
              help="Port of the workers' Prometheus exporter [default: 9191, or a free one if taken].")
def up_command(host, port, sandbox_port, latency, no_sandbox, worker_processes, worker_threads,
               metrics_port):
    """Run everything on this machine: Redis, workers, the scheduler, the sandbox and the web app."""
    from .. import schema
    from ..intake.channels import seed_sandbox_channels
    from ..sandbox.settings import INSIGHTS_SPEED
    from ..worker import embedded_redis

    taken = [p for p in ([port] + ([] if no_sandbox else [sandbox_port])) if _port_taken(host, p)]
    if taken:
        raise click.ClickException(f"port {taken[0]} is in use (another socialpub up?); stop it or "
                                   f"choose another with --port / --sandbox-port")
    settings = Settings.from_env()
    os.makedirs(settings.instance_dir, exist_ok=True)
    output = Output(os.path.join(settings.instance_dir, LOG_FILE))
    output.take_logging()
    redis_url = settings.redis_url
    if redis_url == EMBEDDED_REDIS:
        redis_url = embedded_redis.ensure_running(settings.instance_dir)
    database = _bind(settings, existing=False)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    with database.connection_context():
        schema.upgrade()
        if not no_sandbox and seed_sandbox_channels(sandbox_url):
            output.tell(f"Added one channel per network, pointed at the sandbox ({sandbox_url}).", sys.stdout)
        first_user.ensure(settings.instance_dir)

    # The children read every setting by its new name: an old one was said once, here.
    env = dict(renamed(os.environ), SOCIALPUB_DATABASE_URL=settings.database_url, SOCIALPUB_REDIS_URL=redis_url,
               SOCIALPUB_INSTANCE=settings.instance_dir, PYTHONUNBUFFERED="1")
    if not no_sandbox:
        # The demo channels and the demo image are served by the sandbox on loopback,
        # which the workers refuse unless it is allowed: its port alone, not the
        # Redis or the web app beside it.
        env["SOCIALPUB_OUTBOUND_ALLOW"] = ",".join(settings.outbound_allow + (f"127.0.0.1:{sandbox_port}",))
        env.update(sandbox_apps(settings, sandbox_url))
        # The sandbox grows posts' numbers on a faster clock; their reads follow it (docs/analytics.md).
        env.setdefault("SOCIALPUB_ANALYTICS_CLOCK_SPEED", str(INSIGHTS_SPEED))
    if not settings.public_base_url and host == "127.0.0.1":
        # Uploaded images get public URLs (media/public.py) the sandbox's Instagram can be given.
        env["SOCIALPUB_PUBLIC_BASE_URL"] = f"http://{host}:{port}"
    env.setdefault("dramatiq_worker_timeout", WORKER_POLL_MS)
    metrics_port, envs = _metrics_env(env, settings.instance_dir, host, metrics_port)
    py = sys.executable
    commands = {
        "workers": [py, "-m", "dramatiq", "socialpub.worker.boot", "--processes", str(worker_processes),
                    "--threads", str(worker_threads)],
        # Exactly one scheduler: it enqueues the periodic actors (the reconciler).
        "scheduler": [os.path.join(os.path.dirname(py), "periodiq"), "socialpub.worker.boot"],
        "web": [py, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", "2", "--threads", "4",
                "--access-logfile", "-", "socialpub.web.app:create_app()"],
    }
    if not no_sandbox:
        commands["sandbox"] = [py, "-m", "socialpub.commands.cli", "sandbox", "--port", str(sandbox_port),
                               "--latency", latency, "--whatsapp-webhook", f"http://{host}:{port}/webhooks/meta"]
    children = Supervisor(commands, envs, env, say=output.tell, output=output)
    children.start()
    output.tell(f"\nsocialpub is starting: web http://{host}:{port}  "
                f"sandbox {sandbox_url if not no_sandbox else '(off)'}  redis {redis_url}\n"
                f"Monitor: http://{host}:{port}/monitor  Prometheus metrics: web http://{host}:{port}/metrics"
                f"  workers http://{host}:{metrics_port}/metrics\n"
                f"{_logs_line(output.path)}\n"
                f"Press Ctrl-C to stop.\n", sys.stdout)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and
    # Python would then keep ignoring it.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    web_url, announced = f"http://{host}:{port}", False
    try:
        while not stopping and children.check():
            if not announced and _port_taken(host, port) and _answers(f"{web_url}/healthz"):
                # Once start-up has settled, where the workers' first lines no longer bury it.
                output.tell(_ready_banner(web_url, settings.instance_dir, output.path), sys.stdout)
                announced = True
            time.sleep(0.2)
    finally:
        children.stop()
        if settings.redis_url == EMBEDDED_REDIS:
            embedded_redis.stop(settings.instance_dir)
        output.tell("socialpub stopped.", sys.stdout)
        output.close()
    if children.given_up:
        raise SystemExit(1)


def _answers(url) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except OSError:
        return False


def _ready_banner(web_url, instance_dir, log_path) -> str:
    password = first_user.password(instance_dir)
    sign_in = (f"Sign in at {web_url} as {first_user.EMAIL} with the password {password}\n"
               f"(kept in {first_user.path(instance_dir)} until you change it on the Account page)"
               if password else f"Sign in at {web_url}")
    return f"\nsocialpub is ready. {sign_in}\n{_logs_line(log_path)}\n"


def _logs_line(log_path) -> str:
    return f"Logs: {log_path} (every request and job; here only warnings and errors)"


def sandbox_apps(settings, sandbox_url: str) -> dict:
    """The environment that makes "Connect …" go through the sandbox's dialogs, as
    the sandbox's own apps — for each network whose real app is not configured."""
    from ..sandbox.meta_apps import FACEBOOK_APP, INSTAGRAM_APP
    from ..sandbox.oauth import LINKEDIN_APP

    env = {}
    if not settings.linkedin_client_id:
        env.update(SOCIALPUB_LINKEDIN_CLIENT_ID=LINKEDIN_APP[0], SOCIALPUB_LINKEDIN_CLIENT_SECRET=LINKEDIN_APP[1],
                   SOCIALPUB_LINKEDIN_OAUTH_URL=f"{sandbox_url}/oauth/v2", SOCIALPUB_LINKEDIN_API_URL=sandbox_url)
    if not settings.facebook_app_id:
        env.update(SOCIALPUB_FACEBOOK_APP_ID=FACEBOOK_APP[0], SOCIALPUB_FACEBOOK_APP_SECRET=FACEBOOK_APP[1],
                   SOCIALPUB_FACEBOOK_DIALOG_URL=sandbox_url, SOCIALPUB_FACEBOOK_GRAPH_URL=sandbox_url)
    if not settings.instagram_app_id:
        env.update(SOCIALPUB_INSTAGRAM_APP_ID=INSTAGRAM_APP[0], SOCIALPUB_INSTAGRAM_APP_SECRET=INSTAGRAM_APP[1],
                   SOCIALPUB_INSTAGRAM_DIALOG_URL=sandbox_url, SOCIALPUB_INSTAGRAM_TOKEN_URL=sandbox_url,
                   SOCIALPUB_INSTAGRAM_GRAPH_URL=sandbox_url)
    if not settings.meta_webhook_secret():
        # The sandbox signs its WhatsApp webhooks as the sandbox's Meta app would.
        env.update(SOCIALPUB_WHATSAPP_APP_SECRET=FACEBOOK_APP[1], SANDBOX_WHATSAPP_APP_SECRET=FACEBOOK_APP[1])
    else:
        env["SANDBOX_WHATSAPP_APP_SECRET"] = settings.meta_webhook_secret()
    if not settings.whatsapp_verify_token:
        env["SOCIALPUB_WHATSAPP_VERIFY_TOKEN"] = "sandbox-verify-token"
    return env


def _metrics_env(env, instance_dir, host, port):
    """The workers' exporter port and each process's metrics environment: a
    fresh folder per run for the workers' and the web's metric files."""
    from ..metrics.files import fresh_dir

    if port is None:
        port = 9191 if not _port_taken(host, 9191) else _free_port(host)
    elif _port_taken(host, port):
        raise click.ClickException(f"port {port} (--metrics-port) is in use; choose another")
    folder = os.path.join(instance_dir, "metrics")
    return port, {
        "workers": dict(env, dramatiq_prom_db=fresh_dir(os.path.join(folder, "workers")),
                        dramatiq_prom_host=host, dramatiq_prom_port=str(port)),
        "scheduler": dict(env, dramatiq_prom_db=fresh_dir(os.path.join(folder, "scheduler"))),
        "web": dict(env, PROMETHEUS_MULTIPROC_DIR=fresh_dir(os.path.join(folder, "web"))),
    }


def _free_port(host) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_taken(host, port) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


@click.group()
def main():
    """socialpub: publish one post to four networks at once."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


for _command in (db_group, sandbox_command, worker_command, seed_command, rotate_key_command, prune_command,
                 up_command, *users.COMMANDS):
    main.add_command(_command)


if __name__ == "__main__":
    main()
