"""`socialpub up` — what `make run` starts — brings up the whole product on a
fresh instance folder: SQLite, its own Redis, workers, the sandbox, the web app,
a first user; the seed's demo works against it, and Ctrl-C stops everything."""
import os
import re
from pathlib import Path

import pytest
import requests

from tests.support.workers import SocialpubUp, wait_for


def test_socialpub_up_runs_the_seed_demo_and_stops_cleanly(tmp_path):
    with SocialpubUp(tmp_path, "--latency", "facebook=0.3,instagram=0.5,linkedin=0.4,whatsapp=0.2",
                     "--worker-threads", "4") as up:
        api = up.session
        assert requests.get(f"{up.url}/api/channels", timeout=5).status_code == 401
        channels = api.get(f"{up.url}/api/channels", timeout=5).json()["items"]
        assert sorted(c["network"] for c in channels) == ["facebook", "instagram", "linkedin", "whatsapp"]

        post = api.post(f"{up.url}/api/posts", json={"text": "Hello from make run", "publish": True}, timeout=5)
        # Instagram needs an image to go out (a draft may lack it): the demo gives it, as the seed does.
        assert post.status_code == 422
        post = api.post(f"{up.url}/api/posts", json={
            "text": "Hello from make run", "image_url": f"{up.sandbox_url}/_sandbox/image.jpg"}, timeout=5)
        assert post.status_code == 201
        post_id = post.json()["id"]
        published = api.post(f"{up.url}/api/posts/{post_id}/publish", timeout=5)
        assert published.status_code == 202
        assert len(published.json()["results"]) == 4

        def all_published():
            return api.get(f"{up.url}/api/posts/{post_id}/status", timeout=5).json()["by_status"][
                "published"] == 4
        wait_for(all_published, 30, "all four networks to publish")
        received = requests.get(f"{up.sandbox_url}/_sandbox/received", timeout=5).json()
        # One item on each network; on WhatsApp, one message to each of the demo channel's contacts.
        from socialpub.intake.channels import SANDBOX_CONTACTS

        assert sorted(r["network"] for r in received if r["network"] != "whatsapp") == ["facebook", "instagram",
                                                                                          "linkedin"]
        assert sorted(r["to"] for r in received if r["network"] == "whatsapp") == sorted(
            ["+16505551234", *(phone for phone, _ in SANDBOX_CONTACTS)])

        # WhatsApp as Meta allows it: an approved template to the demo audience, and each
        # recipient's status back from the sandbox's signed webhook to the app's /webhooks/meta.
        whatsapp = next(c["id"] for c in channels if c["network"] == "whatsapp")
        synced = api.post(f"{up.url}/api/channels/{whatsapp}/templates/sync", timeout=10)
        assert synced.status_code == 200, synced.text
        post = api.post(f"{up.url}/api/posts", json={
            "text": "Our spring menu", "image_url": f"{up.sandbox_url}/_sandbox/image.jpg", "channels": [whatsapp],
            "publish": True, "whatsapp": {"template": "post_announcement", "language": "en_US", "body": ["{text}"],
                                          "audience": "Newsletter"}}, timeout=5)
        assert post.status_code == 201, post.text
        recipients_url = f"{up.url}/api/publications/{post.json()['publications'][0]['id']}/recipients"
        wait_for(lambda: api.get(recipients_url, timeout=5).json()["counts"] == {"read": len(SANDBOX_CONTACTS)},
                 30, "every demo contact's message read, as the sandbox's webhooks say")
    assert up.returncode == 0, up.output
    assert "socialpub stopped." in up.output
    # Once start-up has settled, the sign-in address and the first user's password.
    ready = re.search(r"socialpub is ready\. Sign in at (\S+) as admin@localhost with the password (\S+)",
                      up.output)
    assert ready and ready.group(1) == up.url, up.output
    kept = tmp_path / "instance" / "first-password"
    assert kept.read_text().strip() == ready.group(2) and kept.stat().st_mode & 0o077 == 0
    assert not (tmp_path / "instance" / "redis.sock").exists(), "the embedded Redis is still running"
    assert Path(tmp_path / "instance" / "socialpub.db").exists()


def test_the_terminal_shows_the_banner_and_warnings_while_the_log_file_named_in_it_holds_every_line(tmp_path):
    with SocialpubUp(tmp_path, "--latency", "facebook=0,instagram=0,linkedin=0,whatsapp=0",
                     "--worker-threads", "2") as up:
        assert up.session.get(f"{up.url}/api/channels", timeout=5).status_code == 200
        # A warning of the web app's: an unsigned POST where Meta's signed notifications arrive.
        assert requests.post(f"{up.url}/webhooks/meta", json={}, timeout=5).status_code in (401, 403)
        wait_for(lambda: "without a valid X-Hub-Signature-256" in up.log_text(), 30, "the warning on the terminal")
        wait_for(lambda: "socialpub is ready" in up.log_text(), 30, "the ready banner")
    assert up.returncode == 0, up.output
    path = tmp_path / "instance" / "socialpub.log"
    ready = up.output[up.output.index("socialpub is ready"):]
    assert f"Logs: {path} (every request and job; here only warnings and errors)" in ready
    access = re.compile(r'"(GET|POST) /\S* HTTP/1\.1" \d{3}')
    assert not access.search(up.output), up.output
    assert not re.search(r"\[INFO\]| INFO ", up.output), up.output
    assert re.search(r"^web: .* WARNING socialpub\.web\.meta_webhook: A POST to /webhooks/meta without", up.output,
                     re.M)
    log = path.read_text()
    assert re.search(r'^web: 127\.0\.0\.1 - - \[.*\] "GET /api/channels HTTP/1\.1" 200', log, re.M)
    assert re.search(r'^web: .*"POST /webhooks/meta HTTP/1\.1" 40[13]', log, re.M)
    assert re.search(r"^workers: \[.*\] \[INFO\] ", log, re.M) and re.search(r"^scheduler: \[.*\] \[INFO\]", log, re.M)
    assert "INFO socialpub.schema: Applying schema step 1 " in log  # socialpub up's own lines too
    assert "socialpub is ready" in log and log.rstrip().endswith("socialpub stopped.")


def children_of(pid: int) -> dict:
    """``{pid: command line}`` of the processes whose parent is ``pid``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_text().replace("\0", " ")
        except OSError:  # gone meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def test_a_crashed_worker_is_restarted_and_the_rest_keeps_running(tmp_path):
    import os
    import signal

    with SocialpubUp(tmp_path, "--latency", "facebook=0,instagram=0,linkedin=0,whatsapp=0",
                     "--worker-threads", "2") as up:
        [workers] = [pid for pid, cmd in children_of(up.proc.pid).items() if "dramatiq" in cmd]
        os.kill(workers, signal.SIGKILL)
        wait_for(lambda: "workers exited with status -9; restarting it in 1 s." in up.log_text(), 30,
                 "the crash to be noticed")
        wait_for(lambda: any("dramatiq" in cmd and pid != workers
                             for pid, cmd in children_of(up.proc.pid).items()), 30, "a new worker")
        assert up.answers(f"{up.url}/healthz")  # the web app never stopped
        post = up.session.post(f"{up.url}/api/posts", json={"text": "after the crash", "networks": ["linkedin"],
                                                            "publish": True}, timeout=5)
        assert post.status_code == 201
        wait_for(lambda: up.session.get(f"{up.url}/api/posts/{post.json()['id']}/status", timeout=5)
                 .json()["by_status"]["published"] == 1, 60, "the restarted workers to publish")
    assert up.returncode == 0, up.output


@pytest.mark.parametrize("command", [["create-token", "admin@localhost"], ["create-user", "a@example.com"],
                                     ["revoke-token", "admin@localhost", "sp_0123456789"], ["rotate-key"],
                                     ["seed-sandbox-channels"]])
def test_a_command_run_where_no_database_exists_says_so_in_one_line_and_creates_nothing(tmp_path, command):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SOCIALPUB_INSTANCE", "REDIS_URL", "SOCIALPUB_ENCRYPTION_KEYS")}
    result = subprocess.run([sys.executable, "-m", "socialpub.commands.cli", *command], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"socialpub: no database at {tmp_path / 'instance' / 'socialpub.db'}")
    assert "socialpub up" in lines[0]
    assert list(tmp_path.iterdir()) == []  # no stray instance/ folder
