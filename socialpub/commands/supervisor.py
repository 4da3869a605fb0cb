"""The children of ``socialpub up`` (workers, scheduler, web, sandbox), kept
running: one that exits is started again after a pause that doubles with each
crash, and said so in the log. Everything stops on Ctrl-C, or when one child
keeps crashing (``MAX_CRASHES`` within ``CRASH_WINDOW_S``): a fault that a
restart cannot mend must not loop for ever.

Their output goes through :class:`Output`: every line to a log file in the
instance folder, rotated by size, and only warnings, errors and crashes to the
terminal — where the ready banner is then not buried under access-log lines.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from logging.handlers import RotatingFileHandler

#: First pause before a restart, doubled with each crash up to MAX_PAUSE_S.
FIRST_PAUSE_S = 1.0
MAX_PAUSE_S = 30.0
#: This many crashes of one child within the window stop everything.
MAX_CRASHES = 5
CRASH_WINDOW_S = 120.0
#: The log file is rotated past this size, the last LOG_BACKUPS kept: at most 20 MiB on disk.
LOG_MAX_BYTES = 5 * 2**20
LOG_BACKUPS = 3
#: A line's level where the children write it: gunicorn's, dramatiq's and periodiq's "[…] [WARNING] …",
#: socialpub's own "2026-12-07 05:00:00,123 WARNING name: …", logging's default "WARNING:name:…".
LEVEL = re.compile(r"^(?:(?:\[[^\]]*\] )*\[(?P<bracketed>[A-Z]+)\](?:\s|$)"
                   r"|\d{4}-\d\d-\d\d[ T][\d:.,]+ (?P<stamped>[A-Z]+) "
                   r"|(?P<bare>DEBUG|INFO|WARNING|ERROR|CRITICAL):)")
SHOWN_LEVELS = {"WARNING", "ERROR", "CRITICAL"}


class Output:
    """Where ``socialpub up``'s lines go: all of them to ``path`` (rotated),
    and to the terminal what people must see — :meth:`tell`'s lines, and the
    children's warnings and errors with the lines that continue them (a
    traceback). A line without a level continues the one before it on the
    same stream; one starting a traceback is shown whatever came before.

    Parameters:
      path(str): the log file.
      terminal: where shown lines are written (the terminal's stderr).
    """

    def __init__(self, path: str, terminal=None):
        self.path = path
        self.terminal = terminal or sys.stderr
        self.handler = RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(message)s"))
        # Not through the root logger: its handler writes every INFO line to the terminal.
        self._log = logging.Logger("socialpub.up")
        self._log.addHandler(self.handler)
        self._terminal_lock = threading.Lock()
        self._forward: logging.Handler | None = None

    def tell(self, text: str, terminal=None):
        """``text`` for people: on the terminal (``terminal``, else stderr) and in the log file."""
        self._log.info(text)
        with self._terminal_lock:
            print(text, file=terminal or self.terminal, flush=True)

    def follow(self, name: str, stream, shown: bool) -> threading.Thread:
        """Copy the child ``name``'s ``stream`` line by line until it ends, in
        a thread; ``shown``: whether lines before any level reach the terminal."""
        def copy():
            nonlocal shown
            with stream:
                for text in stream:
                    line = f"{name}: {text.rstrip()}"
                    self._log.info(line)
                    level = LEVEL.match(text)
                    if level:
                        shown = level.group(level.lastgroup) in SHOWN_LEVELS
                    elif text.startswith("Traceback (most recent call last)"):
                        shown = True
                    if shown:
                        with self._terminal_lock:
                            print(line, file=self.terminal, flush=True)

        thread = threading.Thread(target=copy, name=f"output of {name}", daemon=True)
        thread.start()
        return thread

    def take_logging(self):
        """This process's own log records: all to the file, and only warnings
        and errors still to the terminal (the root logger's handlers)."""
        root = logging.getLogger()
        for handler in root.handlers:
            handler.setLevel(logging.WARNING)
        to_file = _Forward(self._log)
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(to_file)
        self._forward = to_file

    def close(self):
        if self._forward is not None:
            logging.getLogger().removeHandler(self._forward)
        self.handler.close()


class _Forward(logging.Handler):
    """A record, formatted, written through ``log``: one writer for the file, so that rotating it is safe."""

    def __init__(self, log: logging.Logger):
        super().__init__()
        self.log = log

    def emit(self, record):
        self.log.info(self.format(record))


@dataclass
class Child:
    name: str
    command: list
    env: dict
    process: subprocess.Popen | None = None
    crashes: list = field(default_factory=list)
    restart_at: float | None = None
    readers: list = field(default_factory=list)

    def start(self, output: Output | None = None):
        # A process group of its own: the dramatiq CLI forks worker processes,
        # which outlive a main process killed with -9 unless the group is ended.
        piped = {} if output is None else dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                               encoding="utf-8", errors="replace")
        self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True, **piped)
        if output is not None:
            # stdout holds gunicorn's access log and nothing people must see; stderr the logs and crashes.
            self.readers = [output.follow(self.name, self.process.stdout, shown=False),
                            output.follow(self.name, self.process.stderr, shown=True)]
        self.restart_at = None

    def signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:  # every process of the group is gone
            pass


class Supervisor:
    """Runs ``commands`` (``{name: argv}``), each with its environment from
    ``envs`` (``{name: env}``, ``default_env`` otherwise). ``say`` prints a line
    for people (to stderr). With ``output``, the children's lines go through
    it; without, to this process's own stdout and stderr."""

    def __init__(self, commands: dict, envs: dict, default_env: dict, say, output: Output | None = None):
        self.children = [Child(name, command, envs.get(name, default_env)) for name, command in commands.items()]
        self.say = say
        self.output = output
        self.given_up: str | None = None

    def start(self):
        for child in self.children:
            child.start(self.output)

    def check(self, now: float | None = None) -> bool:
        """Restart what exited, once its pause is over; False once a child
        crashed too often (everything should stop)."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self.say(f"{child.name}: restarting (crash {len(child.crashes)}).")
                    child.start(self.output)
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
        # Their last lines (why one stopped) reach the log before it is closed; a process it
        # forked could keep a pipe open, so not for long.
        until = time.monotonic() + 2
        for reader in (r for c in self.children for r in c.readers):
            reader.join(max(0.0, until - time.monotonic()))
