"""Renditions asked for and made: the web asks (``request``), the
``make_rendition`` actor makes one (``make``), and both read how far each is
(``listing``).

Where things are kept, and why:

- A rendition made is a Media row like any upload (``library.add_video``:
  judged, in the store, its poster and thumbnail), linked to its source
  (``rendition_of``) and named for the kind it was made for (``rendition_for``,
  ``facebook/reel``); one per source and kind (a unique index). A kind is
  *ready* when such a row exists, or another rendition of the same source fits
  it (a Reel's 9:16 version serves a Story too).
- A request on its way — queued, being made (how far, told every 1 %), or
  failed (why, for a day) — is a field of one Redis hash per source
  (``socialpub:renditions:<media id>``, JSON per kind). Progress changes a
  hundred times a rendition and the page polls it: Redis takes that for
  nothing, where a row would be a write and a WAL record each time. What is
  lost with Redis is only what the queue's messages are lost with: asked again,
  the request is sent again.
- The claim: a worker makes a rendition only once it has set
  ``…:<kind>:claim`` (``SET NX`` with a lease, renewed with each progress,
  fenced by a token — a worker that lost it stops writing and stops making).
  A redelivered or doubled message finds the row (done) or a live claim (it
  waits for the holder: ``Busy``, retried later), so the same rendition is never
  made twice at once; a worker killed mid-way frees the claim when its lease
  ends, and the message Dramatiq gives back starts it again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import time
from contextlib import closing
from dataclasses import asdict
from pathlib import Path

import dramatiq
import redis
from dramatiq.middleware import TimeLimitExceeded
from peewee import IntegrityError

from ..config import Settings
from ..db import connection, write_transaction
from ..errors import BrokerUnavailable, InvalidInput, Unprocessable
from ..models import Media, MediaKind
from . import library, renditions, videos
from .images import MediaRefused
from .storage import StorageError, store_of

logger = logging.getLogger(__name__)

PREFIX = "socialpub:renditions:"
#: How long a request's state is kept after its last change (a failure is shown this long).
STATE_TTL_S = 24 * 3600
#: A claim's lease, renewed with every progress told: a worker that died frees it this long after.
LEASE_MS = 120_000
#: A request still queued after this long (its message lost with Redis?) is sent again when asked again.
RESEND_AFTER_S = 600
#: Where a rendition is made, under the instance directory (never the system's /tmp: videos are large).
WORK_DIRECTORY = "renditions"
#: A source from S3 is copied to the disk in chunks of this size (FFmpeg seeks in it).
CHUNK = 1 << 20


class Status:
    QUEUED, MAKING, READY, FAILED = "queued", "making", "ready", "failed"
    ALL = (QUEUED, MAKING, READY, FAILED)


class Busy(Exception):
    """Another worker holds the claim on this rendition: ask again after ``LEASE_MS``."""


class LostClaim(Exception):
    """This worker's claim lapsed and may be another's: it stops, writing nothing."""


# Redis scripts: each checks the claim's token, so a worker whose lease lapsed writes nothing.
_RENEW = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('pexpire', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('hset', KEYS[2], ARGV[4], ARGV[3])
  redis.call('expire', KEYS[2], ARGV[5])
end
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _redis():
    client = getattr(dramatiq.get_broker(), "client", None)
    if client is None:
        raise BrokerUnavailable("renditions need the queue's Redis, and the broker has none")
    return client


def _key(media_id: int) -> str:
    return f"{PREFIX}{media_id}"


def _claim_key(media_id: int, target: str) -> str:
    return f"{PREFIX}{media_id}:{target}:claim"


def _states(client, media_id: int) -> dict:
    """Every request of a source on its way: ``{target: state}``."""
    return {field.decode(): json.loads(value) for field, value in client.hgetall(_key(media_id)).items()}


def _write(client, media_id: int, target: str, state: dict) -> None:
    with client.pipeline() as pipe:
        pipe.hset(_key(media_id), target, json.dumps(state))
        pipe.expire(_key(media_id), STATE_TTL_S)
        pipe.execute()


def _alive(state: dict | None, held: bool) -> bool:
    """Whether a request will go on by itself: queued lately, or being made by a worker whose claim is ``held``."""
    if state is None or state["status"] == Status.FAILED:
        return False
    if state["status"] == Status.QUEUED:
        return time.time() - state["at"] < RESEND_AFTER_S
    return held


def _video(media_id: int) -> Media:
    source = library.get(media_id)
    if source.kind != MediaKind.VIDEO:
        raise Unprocessable(f"media {media_id} is not a video: versions are made of videos")
    return source


def request(media_id: int, network: str, kind: str) -> tuple:
    """Ask for a rendition of video ``media_id`` that ``network``'s ``kind`` of post takes;
    ``(item, ready)``: the rendition made (ready), or the request on its way — sent to a
    worker now, unless one already is.

    Raises:
      NotFound, InvalidInput: no such media, network or kind.
      Unprocessable: a photo; a video that fits already, or that a rendition cannot fix (why).
      BrokerUnavailable: the queue cannot take it.
    """
    rules = renditions.rules_of(network, kind)
    source, target = _video(media_id), renditions.target(network, kind)
    made = renditions.ready(source, rules, target)
    if made is not None:
        return _ready_item(network, kind, rules, made), True
    if not renditions.problems_of(rules, source):
        raise Unprocessable(f"it fits {rules.label} as it is: post it without a new version", field="kind")
    try:
        plan = renditions.plan(source, rules)
    except renditions.NotFixable as exc:
        raise Unprocessable(str(exc), field="kind") from None
    try:
        client = _redis()
        state = _states(client, media_id).get(target)
        if not _alive(state, held=bool(client.exists(_claim_key(media_id, target)))):
            state = {"status": Status.QUEUED, "progress": 0.0, "changes": plan.changes, "at": time.time()}
            _write(client, media_id, target, state)
            dramatiq.get_broker().get_actor("make_rendition").send(media_id, network, kind)
    except redis.RedisError as exc:
        logger.warning("A rendition of media %d could not be queued: %s", media_id, exc)
        raise BrokerUnavailable("the queue is unreachable: nothing was asked; try again in a moment") from None
    return _item(network, kind, rules, state, alive=True), False


def listing(media_id: int) -> list:
    """Each rendition of a video, made or on its way, by kind of post."""
    return listings([_video(media_id)])[media_id]


def listings(sources: list) -> dict:
    """``{source id: [rendition items]}`` for several videos at once (the library page): one query,
    two Redis round trips. Without Redis, the ones made only."""
    ids = [source.id for source in sources]
    made = list(Media.select().where(Media.rendition_of.in_(ids)).order_by(Media.id)) if ids else []
    try:
        client = _redis()
        with client.pipeline(transaction=False) as pipe:
            for media_id in ids:
                pipe.hgetall(_key(media_id))
            states = {media_id: {f.decode(): json.loads(v) for f, v in got.items()}
                      for media_id, got in zip(ids, pipe.execute())}
        making = [(media_id, target) for media_id in ids for target, state in states[media_id].items()
                  if state["status"] == Status.MAKING]
        with client.pipeline(transaction=False) as pipe:
            for media_id, target in making:
                pipe.exists(_claim_key(media_id, target))
            held = {key for key, exists in zip(making, pipe.execute()) if exists}
    except (redis.RedisError, BrokerUnavailable) as exc:
        logger.warning("The renditions on their way could not be read: %s", exc)
        states, held = {}, set()
    items = {media_id: [] for media_id in ids}
    for media in made:
        network, _, kind = (media.rendition_for or "/").partition("/")
        rules = _rules_or_none(network, kind)
        if rules is not None:
            items[media.rendition_of_id].append(_ready_item(network, kind, rules, media))
    for media_id in ids:
        done = {media.rendition_for for media in made if media.rendition_of_id == media_id}
        for target, state in sorted(states.get(media_id, {}).items()):
            network, _, kind = target.partition("/")
            rules = _rules_or_none(network, kind)
            if rules is not None and target not in done:
                alive = _alive(state, held=(media_id, target) in held)
                items[media_id].append(_item(network, kind, rules, state, alive=alive))
    return items


def label_of(target: str) -> str:
    """What a rendition was made for, in words ("a Facebook Reel"), from its ``rendition_for``."""
    rules = _rules_or_none(*target.partition("/")[::2])
    return rules.label if rules is not None else target


def _rules_or_none(network: str, kind: str):
    try:
        return renditions.rules_of(network, kind)
    except Exception:  # noqa: BLE001 — a kind a network no longer has: not shown
        return None


def _ready_item(network: str, kind: str, rules, media: Media) -> dict:
    return {"network": network, "kind": kind, "label": rules.label, "status": Status.READY, "progress": 1.0,
            "media_id": media.id, "reason": None, "changes": None,
            "summary": f"Ready: video {media.id}, {media.width} × {media.height}"}


def _item(network: str, kind: str, rules, state: dict, alive: bool) -> dict:
    """A request on its way as the API and the page show it; one whose worker died is queued again."""
    status = state["status"] if alive or state["status"] == Status.FAILED else Status.QUEUED
    progress = state.get("progress") or 0.0
    summary = {Status.QUEUED: "Waiting for a worker",
               Status.MAKING: f"Making it: {int(progress * 100)} %",
               Status.FAILED: f"Not made: {state.get('reason')}"}[status]
    return {"network": network, "kind": kind, "label": rules.label, "status": status,
            "progress": progress if status == Status.MAKING else None, "media_id": None,
            "reason": state.get("reason") if status == Status.FAILED else None, "changes": state.get("changes"),
            "summary": summary}


def make(settings: Settings, media_id: int, network: str, kind: str, time_limit_s: int) -> None:
    """The ``make_rendition`` actor's work: make the rendition unless it is made, or being
    made (``Busy``: the caller asks again later). A failure is kept for the page, in words.

    Raises:
      Busy: another worker holds the claim.
    """
    try:
        rules = renditions.rules_of(network, kind)
    except InvalidInput as exc:  # a kind its network no longer has
        logger.warning("Media %d: no version made: %s", media_id, exc.message)
        return
    target, client = renditions.target(network, kind), _redis()
    with connection():
        source = Media.get_or_none(Media.id == media_id)
        if source is None or renditions.ready(source, rules, target) is not None:
            client.hdel(_key(media_id), target)
            return
    token = secrets.token_hex(8)
    if not client.set(_claim_key(media_id, target), token, nx=True, px=LEASE_MS):
        raise Busy(target)
    claim = _Claim(client, media_id, target, token)
    work = Path(settings.instance_dir) / WORK_DIRECTORY / f"{media_id}-{network}-{kind}"
    try:
        plan = renditions.plan(source, rules)
        claim.tell(Status.MAKING, 0.0, changes=plan.changes)
        shutil.rmtree(work, ignore_errors=True)  # what a worker killed here before left
        work.mkdir(parents=True)
        started = time.monotonic()
        renditions.transcode(_source_file(settings, source, work), work / "rendition.mp4", plan,
                             progress=lambda done: claim.tell(Status.MAKING, done, changes=plan.changes))
        logger.info("Media %d: its version for %s made in %.1f s.", media_id, target, time.monotonic() - started)
        claim.tell(Status.MAKING, 1.0, changes=plan.changes)
        _keep(settings, source, rules, target, work / "rendition.mp4")
        client.hdel(_key(media_id), target)  # the row says it is ready
    except LostClaim:
        logger.warning("Media %d: the claim on its version for %s lapsed; another worker may make it.",
                       media_id, target)
    except (renditions.NotFixable, MediaRefused, StorageError, _ffmpeg_error(), OSError,
            TimeLimitExceeded) as exc:
        reason = _reason(exc, time_limit_s)
        logger.warning("Media %d: its version for %s was not made: %s (%s)", media_id, target, reason, exc)
        claim.tell(Status.FAILED, 0.0, reason=reason, strict=False)
    finally:
        client.eval(_RELEASE, 1, _claim_key(media_id, target), token)
        shutil.rmtree(work, ignore_errors=True)


def _ffmpeg_error() -> type:
    """PyAV's error class, imported when an error is being matched: FFmpeg's libraries are loaded by
    the worker that transcodes, not by every process."""
    import av

    return av.FFmpegError


def _reason(exc: BaseException, time_limit_s: int) -> str:
    """Why a rendition was not made, in words for the person who asked."""
    if isinstance(exc, renditions.NotFixable):
        return str(exc)
    if isinstance(exc, MediaRefused):
        return exc.message.removeprefix("file: ")
    if isinstance(exc, StorageError):
        return "the media store did not give or take the video; ask again in a moment"
    if isinstance(exc, OSError) and not isinstance(exc, _ffmpeg_error()):
        return "the worker could not write the new version (is its disk full?); ask again later"
    if isinstance(exc, TimeLimitExceeded):
        return f"it took longer than {time_limit_s // 60} minutes; trim the video, or ask again when workers are free"
    return "the video could not be read or written (FFmpeg refused it); export it again and upload it"


class _Claim:
    """A worker's claim on one rendition: each progress renews its lease and writes its state, fenced by the token."""

    def __init__(self, client, media_id: int, target: str, token: str):
        self.client, self.media_id, self.target, self.token = client, media_id, target, token

    def tell(self, status: str, progress: float, *, changes: str | None = None, reason: str | None = None,
             strict: bool = True) -> None:
        state = json.dumps({"status": status, "progress": round(progress, 3), "changes": changes, "reason": reason,
                            "at": time.time()})
        held = self.client.eval(_RENEW, 2, _claim_key(self.media_id, self.target), _key(self.media_id), self.token,
                                LEASE_MS, state, self.target, STATE_TTL_S)
        if not held and strict:
            raise LostClaim(self.target)


def _source_file(settings: Settings, source: Media, work: Path) -> Path:
    """The source video on this disk: the local store's file, or S3's copied a chunk at a time."""
    store = store_of(settings)
    path = store.path_of(source.storage_key)
    if path is not None:
        if not path.exists():
            raise StorageError(f"{source.storage_key} is missing from the store")
        return path
    copy = work / f"source.{library.EXTENSIONS.get(source.content_type, 'mp4')}"
    with closing(store.open_from(source.storage_key)) as stream, copy.open("wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)
    return copy


def _keep(settings: Settings, source: Media, rules, target: str, path: Path) -> Media:
    """The rendition judged again (it must fit), kept in the library and linked to its source."""
    judged = videos.judge(path)
    problems = rules.problems(asdict(judged), width=judged.width, height=judged.height, size=judged.size_bytes,
                              content_type=judged.content_type)
    if problems:
        raise renditions.NotFixable(f"the new version still does not fit {rules.label}: {'; '.join(problems)}")
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(CHUNK), b""):
            digest.update(chunk)
    stem = Path(source.original_name).stem if source.original_name else f"video-{source.id}"
    with connection():
        name = f"{stem}-{target.replace('/', '-')}.mp4"
        media, created = library.add_video(settings, path, digest.hexdigest(), name=name)
        try:
            with write_transaction():
                linked = Media.update(rendition_of=source.id, rendition_for=target).where(
                    (Media.id == media.id) & Media.rendition_of.is_null()).execute()
        except IntegrityError:  # made by another worker meanwhile (its claim had lapsed): that one stays
            linked = 0
            if created:
                library.delete(settings, media.id)
            return renditions.ready(source, rules, target)
        if not linked and Media.get_by_id(media.id).rendition_of_id != source.id:
            raise renditions.NotFixable(f"the new version is the same file as video {media.id}, already in the "
                                        f"library: post that one")
        return media
