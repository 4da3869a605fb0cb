"""socialpub up's supervisor, with real child processes: a child that exits is
started again after a pause that doubles, and one that keeps crashing stops
everything."""
import sys

from socialpub import supervisor
from socialpub.supervisor import Supervisor

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
