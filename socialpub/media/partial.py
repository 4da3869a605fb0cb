"""An upload that arrives in parts (web/resumable.py, the tus protocol): its
bytes in a file under the instance's ``partial-uploads`` directory, beside a small
JSON file saying what it is (its length, name, owner, when it began).

A part is appended only at the offset the file has reached, under an exclusive
lock of the file, so a part sent twice after a dropped connection — or by two
tabs at once — is refused, never written twice; a part cut short keeps the bytes
that came, and the client asks the offset and goes on from there. Nothing is
held in memory beyond one block. A finished upload keeps its description, now
naming the media it became, so that a client whose answer to the last part was
lost learns it by asking the offset instead of sending the file again. Uploads
are removed a day after they began (``prune``).

The parts live on the web host's disk: with several web hosts, give them one
instance directory (shared storage) or route an upload's requests to one host.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import Settings

#: Where the parts are kept, under the instance directory.
DIRECTORY = "partial-uploads"
#: An upload not finished within this long is removed.
LIFETIME_S = 24 * 3600
#: Longest a complete upload may take to be kept in the library before another request may try.
KEEPING_S = 600
#: What one request's body is read in.
BLOCK = 1 << 20
#: An upload's id: 22 URL-safe characters from the system's random source.
_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


class OffsetMismatch(Exception):
    """A part sent for another offset than the one the upload has reached."""

    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


@dataclass(frozen=True)
class Partial:
    id: str
    length: int
    name: str | None
    content_type: str | None
    owner: int
    started_at: float
    #: The media it became, once finished.
    media_id: int | None = None

    def path(self, settings: Settings) -> Path:
        return _root(settings) / f"{self.id}.part"

    def offset(self, settings: Settings) -> int:
        if self.media_id is not None:
            return self.length
        try:
            return self.path(settings).stat().st_size
        except FileNotFoundError:
            return 0


def _root(settings: Settings) -> Path:
    root = Path(settings.instance_dir) / DIRECTORY
    root.mkdir(parents=True, exist_ok=True)
    return root


def start(settings: Settings, length: int, name: str | None, content_type: str | None, owner: int) -> Partial:
    """A new, empty upload of ``length`` bytes for the user ``owner``."""
    partial = Partial(id=secrets.token_urlsafe(16), length=length, name=name, content_type=content_type,
                      owner=owner, started_at=time.time())
    partial.path(settings).touch(exist_ok=False)
    _describe(settings, partial)
    return partial


def _describe(settings: Settings, partial: Partial) -> None:
    aside = _root(settings) / f"{partial.id}.json.tmp"
    aside.write_text(json.dumps(asdict(partial)))
    os.replace(aside, _root(settings) / f"{partial.id}.json")


def claim_keeping(settings: Settings, partial: Partial) -> bool:
    """Whether this request keeps the complete upload in the library: one request at a time (a
    marker file made only when absent), and again after KEEPING_S should that request have died."""
    marker = _root(settings) / f"{partial.id}.keeping"
    try:
        if marker.stat().st_mtime + KEEPING_S < time.time():
            marker.unlink(missing_ok=True)
    except FileNotFoundError:
        pass
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def release_keeping(settings: Settings, partial: Partial) -> None:
    (_root(settings) / f"{partial.id}.keeping").unlink(missing_ok=True)


def finished(settings: Settings, partial: Partial, media_id: int) -> Partial:
    """The upload kept in the library as ``media_id``: its bytes removed, its description kept."""
    done = Partial(**{**asdict(partial), "media_id": media_id})
    _describe(settings, done)
    partial.path(settings).unlink(missing_ok=True)
    release_keeping(settings, partial)
    return done


def get(settings: Settings, upload_id: str, owner: int) -> Partial | None:
    """The upload ``upload_id`` of ``owner``; None when there is none (or it is another person's,
    or too old: nobody learns that it exists)."""
    if not _ID.match(upload_id or ""):
        return None
    try:
        partial = Partial(**json.loads((_root(settings) / f"{upload_id}.json").read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
    if partial.owner != owner or partial.started_at + LIFETIME_S < time.time():
        return None
    return partial


def append(settings: Settings, partial: Partial, offset: int, stream) -> int:
    """Write ``stream``'s bytes at ``offset``, the upload's current end, up to its length; return
    the new offset. What came before a dropped connection is kept.

    Raises:
      OffsetMismatch: the upload is at another offset (the part was sent already, or one is missing).
      ValueError: the part goes past the upload's length.
    """
    with partial.path(settings).open("ab") as out:
        fcntl.flock(out, fcntl.LOCK_EX)  # one part at a time; released when the file is closed
        reached = out.seek(0, os.SEEK_END)
        if offset != reached:
            raise OffsetMismatch(reached)
        try:
            for block in iter(lambda: stream.read(BLOCK), b""):
                if reached + len(block) > partial.length:
                    raise ValueError(f"the part goes past the upload's {partial.length} bytes")
                out.write(block)
                reached += len(block)
        finally:
            out.flush()
    return reached


def remove(settings: Settings, partial: Partial) -> None:
    for suffix in (".part", ".json", ".keeping"):
        (_root(settings) / f"{partial.id}{suffix}").unlink(missing_ok=True)


def prune(settings: Settings, now: float | None = None) -> int:
    """Remove the uploads begun more than LIFETIME_S ago; return how many."""
    now, removed = now or time.time(), 0
    for described in _root(settings).glob("*.json"):
        try:
            started = json.loads(described.read_text())["started_at"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            continue
        if started + LIFETIME_S < now:
            for suffix in (".part", ".keeping", ".json"):
                described.with_suffix(suffix).unlink(missing_ok=True)
            removed += 1
    return removed
