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
the ``claimed_at`` the worker read. A fetch that fails gives the claim up,
saying why, so the next attempt tries again.

A post that waits for approval has its image fetched as soon as it is
submitted (``request_fetch`` → the ``fetch_image`` actor): the reviewer is
shown that copy from the store — the page never loads the image's own
address — an approval is of those bytes (``check_reviewed``: none while it is
being fetched or has failed), and publishing finds and sends that same copy.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import dramatiq
from peewee import IntegrityError

from ..config import Settings
from ..db import after_commit, write_transaction
from ..errors import Conflict
from ..models import ImageFetch, Media, Post, Publication, utcnow
from ..networks import outbound
from ..networks.base import ErrorKind, PublishError
from ..networks.explain import IMAGE, STORE, explain
from . import images, library, public
from .storage import StorageError

logger = logging.getLogger(__name__)

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
    stalled = row.media_id is None and (row.error is not None or row.claimed_at < now - dt.timedelta(seconds=lease))
    if row.url == url and not stalled:
        return None
    # The URL changed since (an edit), the last fetch failed, or the fetcher is gone:
    # take over, fenced by what was read.
    with write_transaction():
        taken = (ImageFetch.update(url=url, media=None, error=None, claimed_at=now)
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
        explained = _explained(network, url, exc)
        run(_give_up, post_id, claimed_at, _plain(explained))
        raise explained from None
    run(_done, post_id, claimed_at, media.id)
    return media


def _plain(error: BaseException) -> str:
    """What the post page says of a failed fetch: the catalogue's sentence, then the details (plain too)."""
    if not isinstance(error, PublishError):
        return "The photo's fetch was interrupted; it is tried again when the post is published."
    explained = explain(error.network, "failed", error.error_code, error.message)
    return f"{explained.sentence} (Details: {error.message}.)"


def refuse_unfetchable(post: Post) -> None:
    """In "Publish now"'s transaction: refuse (409) a post whose image_url could not be fetched, rather than let
    each of its networks fail on it; it is fetched again meanwhile, in case the site was only away."""
    copy = review_copy(post)
    if copy.state == "failed":
        _send_fetch(post.id)  # now, not after the commit: this refusal rolls back
        raise Conflict(f"Not published: {copy.error} It is being fetched again; publish once the post's page "
                       f"shows the photo, or edit the photo.", field="image_url")


def _give_up(post_id: int, claimed_at, error: str) -> None:
    """The claim given up, saying why (for the post's reviewer): the next fetch takes it over."""
    with write_transaction():
        (ImageFetch.update(error=error[:2000])
         .where((ImageFetch.post == post_id) & (ImageFetch.claimed_at == claimed_at)).execute())


def _done(post_id: int, claimed_at, media_id: int) -> None:
    with write_transaction():
        (ImageFetch.update(media=media_id)
         .where((ImageFetch.post == post_id) & (ImageFetch.claimed_at == claimed_at)).execute())


# -- For the reviewer: the copy an approval approves --------------------------------------------


def request_fetch(post_id: int) -> None:
    """Once the caller's transaction commits: a worker fetches the post's
    ``image_url`` into the library (``fetch_image``), so that its reviewer sees,
    and approves, the bytes that will be published."""
    after_commit(lambda: _send_fetch(post_id))


def _send_fetch(post_id: int) -> None:
    try:
        dramatiq.get_broker().get_actor("fetch_image").send(post_id)
    except Exception:  # the queue is away: approving asks again (check_reviewed)
        logger.warning("Post %d: its image could not be queued for fetching.", post_id, exc_info=True)


def prefetch(settings: Settings, post_id: int, run=_direct) -> Media | None:
    """The ``fetch_image`` actor's work: the post's ``image_url`` fetched into
    the library now (None: the post is gone or has none). Errors are reported
    as its first network's, as publishing would report them.

    Raises:
      PublishError: as ``fetched`` (the error is kept on the claim for the reviewer).
    """
    post = run(Post.get_or_none, Post.id == post_id)
    if post is None or not post.image_url:
        return None
    first = run(Publication.select(Publication.network).where(Publication.post == post_id)
                .order_by(Publication.id).first)
    return fetched(settings, post_id, post.image_url, first.network if first else "facebook", run)


@dataclass(frozen=True)
class Copy:
    """What the library holds of a post's ``image_url``: ``state`` is "none"
    (no image_url), "fetching", "failed" (``error`` says why) or "ready" (``media``)."""

    state: str
    media: Media | None = None
    error: str | None = None


def review_copy(post: Post) -> Copy:
    """The copy of the post's image_url its reviewer is shown (and approves)."""
    if not post.image_url:
        return Copy("none")
    row = ImageFetch.get_or_none(ImageFetch.post == post.id)
    if row is None or row.url != post.image_url:
        return Copy("fetching")
    if row.media_id is not None:
        return Copy("ready", media=library.get(row.media_id))
    return Copy("failed", error=row.error) if row.error else Copy("fetching")


def check_reviewed(settings: Settings, post: Post, seen_sha256: str | None = None) -> None:
    """In the approval's transaction: refuse unless the post's image (if any) is
    in the library — and is the copy the approver saw (``seen_sha256``), and one
    every network of the post gets as those bytes.

    Raises:
      Conflict: still being fetched, the fetch failed (both fetched again), not
        the copy seen, or Instagram would fetch the original address itself.
    """
    copy = review_copy(post)
    if copy.state == "none":
        return
    if copy.state != "ready":
        _send_fetch(post.id)  # now, not after the commit: this refusal rolls back
        if copy.state == "failed":
            raise Conflict(f"post {post.id}: its image could not be fetched ({copy.error}); it is being tried "
                           f"again — approve it once the page shows the image, or reject it", field="image_url")
        raise Conflict(f"post {post.id}: its image is still being fetched into the media store; approve it "
                       f"once the page shows it", field="image_url")
    if seen_sha256 is not None and seen_sha256 != copy.media.sha256:
        raise Conflict(f"post {post.id}: its image is not the one you saw; look at it again before approving",
                       field="image_url")
    networks = {p.network for p in Publication.select(Publication.network).where(Publication.post == post.id)}
    blind = sorted(n for n in networks if not worth_fetching(settings, n))
    if blind:
        raise Conflict(f"post {post.id}: {', '.join(blind)} would fetch the image from its address itself and "
                       f"could get other bytes than the ones approved; set SOCIALPUB_PUBLIC_BASE_URL (or S3 "
                       f"storage) so that it gets the approved copy", field="image_url")


def _explained(network: str, url: str, exc: BaseException) -> BaseException:
    """``exc`` as a PublishError that says it is about the photo (not its address: the post shows that, and a
    person's page never reads a host:port); other errors as they are."""
    if isinstance(exc, PublishError):
        return PublishError(network, f"the photo: {exc.message}", kind=exc.kind, http_status=exc.http_status,
                            code=exc.code or IMAGE, subcode=exc.subcode)
    if isinstance(exc, images.ImageRefused):  # a busy decoder (503) is tried again later
        return PublishError(network, f"the photo: {exc.message}", code=IMAGE,
                            subcode="busy" if exc.status == 503 else "invalid",
                            kind=ErrorKind.TRANSIENT if exc.status == 503 else ErrorKind.PERMANENT)
    if isinstance(exc, StorageError):
        logger.warning("Image %s could not be stored: %s", url, exc)
        return PublishError(network, "the photo could not be stored in the media store", kind=ErrorKind.TRANSIENT,
                            code=STORE)
    return exc
