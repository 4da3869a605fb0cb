"""A post's ``image_url`` fetched once into the media library (workers).

A post made through the API may name its image by URL. The first of its
publications to be sent downloads it, through the outbound guard, and keeps it
as an upload is kept (library.add: judged by its content, stored under its
SHA-256); every network then gets those same bytes. The other publications of
the post wait for that fetch rather than download it again — a bounded wait,
after which a stalled fetch is taken over. Those waiting in the fetcher's own
process (the usual case: one worker takes a post's messages together) are
woken the moment it is done; the others look again every POLL_S.

The claim is one row per post (ImageFetch), written with conditional
statements: an INSERT that only one worker can make, or an UPDATE fenced by
the ``claimed_at`` the worker read. A fetch that fails gives the claim up, so
the next attempt tries again.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from urllib.parse import urlsplit

from peewee import IntegrityError

from ..config import Settings
from ..db import write_transaction
from ..models import ImageFetch, Media, utcnow
from ..networks import outbound
from ..networks.base import ErrorKind, PublishError
from . import images, library, public
from .storage import StorageError

#: The whole download may take this long, redirects included — and at most a
#: third of the attempt's time limit, so that waiting for a stalled fetch and
#: fetching again still fit in one attempt.
DOWNLOAD_TIME_LIMIT_S = 60.0


def download_limit(settings: Settings) -> float:
    return max(1.0, min(DOWNLOAD_TIME_LIMIT_S, settings.time_limit_s / 3))


def claim_lease(settings: Settings) -> float:
    """A claim older than this, with nothing fetched, belongs to a worker that is gone."""
    return download_limit(settings) * 1.25
#: How often a waiting worker looks whether the fetch is done.
POLL_S = 0.2

#: Per post being fetched in this process: set when the fetch is over.
_over: dict = {}
_over_lock = threading.Lock()


def _waiting_for(post_id: int) -> threading.Event:
    with _over_lock:
        return _over.setdefault(post_id, threading.Event())


def _wake(post_id: int) -> None:
    with _over_lock:
        event = _over.pop(post_id, None)
    if event is not None:
        event.set()


def worth_fetching(settings: Settings, network: str) -> bool:
    """Whether ``network`` should get the fetched copy: a network that fetches
    the image itself (Instagram) keeps the original URL unless this installation
    can give it a public URL of the copy."""
    from ..networks import LIMITS

    return not LIMITS[network].fetches_media or public.available(settings, library.store_of(settings))


def _direct(step, *args):
    return step(*args)


def fetched(settings: Settings, post_id: int, url: str, network: str, run=_direct) -> Media:
    """The post's image at ``url``, in the library: fetched now, or by another
    worker earlier or meanwhile. ``run(step, *args)`` runs each database step
    (the worker's ``persist``: a connection for the step alone, given back
    before the download and the waits).

    Raises:
      PublishError: the download failed or was refused (PERMANENT for a
        refusal, 4xx or a file that is not an image socialpub takes;
        TRANSIENT for network trouble, the store, or a fetch still running).
    """
    lease = claim_lease(settings)
    deadline = time.monotonic() + lease + POLL_S
    while True:
        row = run(_fetch_row, post_id)
        if row is not None and row.url == url and row.media_id is not None:
            return run(library.get, row.media_id)
        claimed_at = run(_claim, post_id, url, row, lease)
        if claimed_at is not None:
            try:
                return _fetch(settings, post_id, url, network, claimed_at, run)
            finally:
                _wake(post_id)
        if time.monotonic() > deadline:
            raise PublishError(network, "the post's image is still being fetched by another worker",
                               kind=ErrorKind.TRANSIENT)
        _waiting_for(post_id).wait(POLL_S)


def _claim(post_id: int, url: str, row: ImageFetch | None, lease: float):
    """This worker's ``claimed_at`` if it may fetch now, else None (another is fetching)."""
    now = utcnow()
    if row is None:
        try:
            with write_transaction():
                ImageFetch.insert(post=post_id, url=url, claimed_at=now).execute()
            return now
        except IntegrityError:  # another worker inserted it first
            return None
    stalled = row.media_id is None and row.claimed_at < now - dt.timedelta(seconds=lease)
    if row.url == url and not stalled:
        return None
    # The URL changed since (an edit), or the fetcher is gone: take over, fenced by what was read.
    with write_transaction():
        taken = (ImageFetch.update(url=url, media=None, claimed_at=now)
                 .where((ImageFetch.post == post_id) & (ImageFetch.claimed_at == row.claimed_at)).execute())
    return now if taken else None


def _fetch_row(post_id: int):
    return ImageFetch.get_or_none(ImageFetch.post == post_id)


def _fetch(settings: Settings, post_id: int, url: str, network: str, claimed_at, run) -> Media:
    try:
        data = outbound.download(network, url, max_bytes=settings.media_max_bytes,
                                 time_limit=download_limit(settings), allow=settings.outbound_allow)
        media, _ = run(library.add, settings, data, urlsplit(url).path.rsplit("/", 1)[-1])
    except BaseException as exc:
        run(_give_up, post_id, claimed_at)
        raise _explained(network, url, exc) from None
    run(_done, post_id, claimed_at, media.id)
    return media


def _give_up(post_id: int, claimed_at) -> None:
    with write_transaction():
        ImageFetch.delete().where((ImageFetch.post == post_id) & (ImageFetch.claimed_at == claimed_at)).execute()


def _done(post_id: int, claimed_at, media_id: int) -> None:
    with write_transaction():
        (ImageFetch.update(media=media_id)
         .where((ImageFetch.post == post_id) & (ImageFetch.claimed_at == claimed_at)).execute())


def _explained(network: str, url: str, exc: BaseException) -> BaseException:
    """``exc`` as a PublishError that names the image; other errors as they are."""
    if isinstance(exc, PublishError):
        return PublishError(network, f"image {url}: {exc.message}", kind=exc.kind, http_status=exc.http_status)
    if isinstance(exc, images.Refused):  # a busy decoder (503) is tried again later
        return PublishError(network, f"image {url}: {exc.message}",
                            kind=ErrorKind.TRANSIENT if exc.status == 503 else ErrorKind.PERMANENT)
    if isinstance(exc, StorageError):
        return PublishError(network, f"image {url} could not be stored: {exc}", kind=ErrorKind.TRANSIENT)
    return exc
