"""socialpub up's supervisor, with real child processes: a child that exits is
started again after a pause that doubles, and one that keeps crashing stops
everything."""
import sys

from socialpub.commands import supervisor
from socialpub.commands.supervisor import Supervisor

CRASH = [sys.executable, "-c", "raise SystemExit(3)"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def run(commands):
    lines = []
    sup = Supervisor(commands, {}, {}, say=lines.append)
    sup.start()
    return sup, lines


def exited(sup, name):
    child = next(c for c in sup.children if c.name == name)
    child.process.wait(10)
    return child


def test_a_child_that_exits_is_restarted_after_a_pause_that_doubles():
    sup, lines = run({"workers": CRASH, "web": SLEEP})
    try:
        now = 1000.0
        child = exited(sup, "workers")
        assert sup.check(now)
        assert lines[-1] == "workers exited with status 3; restarting it in 1 s."
        first = child.process
        assert sup.check(now + 0.5) and child.process is first  # still pausing
        assert sup.check(now + 1.0) and child.process is not first
        assert lines[-1] == "workers: restarting (crash 1)."
        child.process.wait(10)
        assert sup.check(now + 2.0)
        assert lines[-1] == "workers exited with status 3; restarting it in 2 s."
        web = next(c for c in sup.children if c.name == "web")
        assert web.process.poll() is None and not web.crashes  # untouched
    finally:
        sup.stop(grace=5)


def test_a_child_that_keeps_crashing_stops_everything():
    sup, lines = run({"scheduler": CRASH})
    try:
        now = 1000.0
        for crash in range(1, supervisor.MAX_CRASHES):
            exited(sup, "scheduler")
            assert sup.check(now)
            now += supervisor.FIRST_PAUSE_S * 2 ** (crash - 1)  # the pause, doubling
            assert sup.check(now)  # restarted
        exited(sup, "scheduler")
        assert not sup.check(now)
        assert "stopping everything" in lines[-1] and sup.given_up
    finally:
        sup.stop(grace=5)


def test_crashes_long_apart_never_add_up_to_stopping():
    sup, _ = run({"scheduler": CRASH})
    try:
        now = 1000.0
        for _ in range(supervisor.MAX_CRASHES * 2):
            exited(sup, "scheduler")
            assert sup.check(now)
            now += supervisor.CRASH_WINDOW_S
            assert sup.check(now)
    finally:
        sup.stop(grace=5)


def test_stop_ends_every_child():
    sup, _ = run({"a": SLEEP, "b": SLEEP})
    sup.stop(grace=5)
    assert all(c.process.poll() is not None for c in sup.children)


#: What the children write, in their own formats: gunicorn's access log on stdout; on stderr
#: gunicorn's, dramatiq's and socialpub's log lines, a warning's continuation, and a crash.
NOISY = [sys.executable, "-c", r'''
import sys
print('127.0.0.1 - - [07/Dec/2026:05:54:31 +0000] "GET /healthz HTTP/1.1" 200 16 "-" "curl/7.88.1"')
err = sys.stderr.write
err("[2026-12-07 05:54:28 +0000] [12] [INFO] Booting worker with pid: 12\n")
err("[2026-12-07 05:54:28,951] [PID 13] [MainThread] [dramatiq.MainProcess] [INFO] Dramatiq is booting up.\n")
err("    an INFO record's second line\n")
err("2026-12-07 05:54:29,389 WARNING socialpub.webhooks: the endpoint answered 500\n")
err("    the warning's second line\n")
err("[2026-12-07 05:54:30,001] [PID 13] [Worker-1] [dramatiq.worker] [INFO] Worker is ready.\n")
raise RuntimeError("the worker broke")
''']


def test_every_line_goes_to_the_log_file_and_only_warnings_errors_and_crashes_to_the_terminal(tmp_path):
    import io

    terminal = io.StringIO()
    output = supervisor.Output(str(tmp_path / "socialpub.log"), terminal=terminal)
    sup = Supervisor({"web": NOISY}, {}, {}, say=output.tell, output=output)
    sup.start()
    sup.children[0].process.wait(10)
    sup.stop(grace=5)  # waits for the last lines
    output.tell("socialpub stopped.")
    output.close()
    shown = terminal.getvalue().splitlines()
    assert shown[:2] == ["web: 2026-12-07 05:54:29,389 WARNING socialpub.webhooks: the endpoint answered 500",
                         "web:     the warning's second line"]
    assert shown[2] == "web: Traceback (most recent call last):"
    assert shown[-2:] == ["web: RuntimeError: the worker broke", "socialpub stopped."]
    assert len(shown) == 6  # the traceback's File line too; no INFO line, no access-log line
    logged = (tmp_path / "socialpub.log").read_text().splitlines()
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in logged)
    assert "web:     an INFO record's second line" in logged
    assert len(logged) == 11 and all(line in logged for line in shown)  # every line, once


def test_the_log_file_is_rotated_past_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor, "LOG_MAX_BYTES", 1000)
    output = supervisor.Output(str(tmp_path / "socialpub.log"), terminal=open(tmp_path / "terminal", "w"))
    for n in range(200):
        output.tell(f"line {n:03d} " + "x" * 40)
    output.close()
    kept = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("socialpub.log"))
    assert kept == ["socialpub.log", "socialpub.log.1", "socialpub.log.2", "socialpub.log.3"]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir() if p.name.startswith("socialpub.log"))
    assert "line 199" in (tmp_path / "socialpub.log").read_text()
