"""The memory-mapped files through which prometheus_client sums the values of
several processes (Dramatiq's worker processes, gunicorn's workers)."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_PID_FILE = re.compile(r"_(\d+)\.db$")


def fresh_dir(path) -> str:
    """Empty ``path`` (creating it): metric files of an earlier run must not be
    summed into this one, nor a reused pid continue a dead process's values."""
    shutil.rmtree(path, ignore_errors=True)
    Path(path).mkdir(parents=True, exist_ok=True)
    return str(path)


def prune_dead_processes(path):
    """Remove the metric files of processes that are gone: ``dramatiq`` stops
    all its workers when one dies, so such files belong to an earlier run."""
    for file in Path(path).glob("*.db"):
        match = _PID_FILE.search(file.name)
        if match and not _alive(int(match.group(1))):
            file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def multiprocess_dir() -> str | None:
    """The folder prometheus_client shares between processes, if it does (it
    reads this variable itself)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


