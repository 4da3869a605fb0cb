"""The children of ``socialpub up`` (workers, scheduler, web, sandbox), kept
running: one that exits is started again after a pause that doubles with each
crash, and said so in the log. Everything stops on Ctrl-C, or when one child
keeps crashing (``MAX_CRASHES`` within ``CRASH_WINDOW_S``): a fault that a
restart cannot mend must not loop for ever.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

#: First pause before a restart, doubled with each crash up to MAX_PAUSE_S.
FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
#: This many crashes of one child within the window stop everything.
MAX_CRASHES = 5
CRASH_WINDOW_S = 120.0


@dataclass
class Child:
    name: str
    command: list
    env: dict
    process: subprocess.Popen | None = None
    crashes: list = field(default_factory=list)
    restart_at: float | None = None

    def start(self):
        # A process group of its own: the dramatiq CLI forks worker processes,
        # which outlive a main process killed with -9 unless the group is ended.
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        self.restart_at = None

    def signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:  # every process of the group is gone
            pass


class Supervisor:
    """Runs ``commands`` (``{name: argv}``), each with its environment from
    ``envs`` (``{name: env}``, ``default_env`` otherwise). ``say`` prints a line
    for people (to stderr)."""

    def __init__(self, commands: dict, envs: dict, default_env: dict, say):
        self.children = [Child(name, command, envs.get(name, default_env)) for name, command in commands.items()]
        self.say = say
        self.given_up: str | None = None

    def start(self):
        for child in self.children:
            child.start()

    def check(self, now: float | None = None) -> bool:
        """Restart what exited, once its pause is over; False once a child
        crashed too often (everything should stop)."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self.say(f"{child.name}: restarting (crash {len(child.crashes)}).")
                    child.start()
                continue
            status = child.process.poll()
            if status is None:
                continue
            child.signal_group(signal.SIGKILL)  # what it forked must not go on beside its restart
            child.crashes = [t for t in child.crashes if now - t < CRASH_WINDOW_S] + [now]
            if len(child.crashes) >= MAX_CRASHES:
                self.given_up = (f"{child.name} exited with status {status}, its {len(child.crashes)}th crash "
                                 f"in {CRASH_WINDOW_S:g} s; stopping everything.")
                self.say(self.given_up)
                return False
            pause = min(FIRST_PAUSE_S * 2 ** (len(child.crashes) - 1), MAX_PAUSE_S)
            child.restart_at = now + pause
            self.say(f"{child.name} exited with status {status}; restarting it in {pause:g} s.")
        return True

    def stop(self, grace: float = 10.0):
        """SIGTERM to every child still running, SIGKILL to the process groups
        of those not gone within ``grace``."""
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in running:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.signal_group(signal.SIGKILL)
                child.process.wait()
