"""The media library: an upload judged (images.py, videos.py), put in the store
(storage.py) under a key made from its SHA-256, and recorded as a Media row.
The same bytes uploaded again are the same row, stored once, found before
anything is decoded; a file no post uses can be deleted, and one a post uses
cannot."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from pathlib import Path

from peewee import IntegrityError, fn

from ..config import Settings
from ..db import write_transaction
from ..errors import Conflict, NotFound
from ..models import ImageFetch, Media, MediaKind, PostMedia, utcnow
from . import documents, images, videos
from .storage import store_of

logger = logging.getLogger(__name__)

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
              "video/mp4": "mp4", "video/quicktime": "mov", documents.CONTENT_TYPE: "pdf"}
#: Where a video's poster frame is taken: a second in, or its middle when shorter.
POSTER_AT_S = 1.0


def decode_slots(settings: Settings) -> int:
    """How many images this process decodes at once: as many budgets of one
    decode (MEDIA_DECODE_MAX_BYTES) as fit in MEDIA_DECODE_MEMORY."""
    return max(1, settings.media_decode_memory // settings.media_decode_max_bytes)


#: Tries at keeping an upload whose bytes other uploads keep committing (and deleting) meanwhile.
KEEP_TRIES = 3


def add(settings: Settings, data: bytes, name: str | None = None) -> tuple:
    """Judge and keep an upload; return ``(media, created)``. Bytes seen before
    (as they were kept, or as they came before their location was taken out)
    are that file again, found by their SHA-256 before anything is decoded.

    Raises:
      images.ImageRefused: not an image socialpub takes (nothing is stored), or no
        decoding slot free in time (503).
      storage.StorageError: the store did not take it (nothing is recorded).
    """
    images.check_size(data, max_bytes=settings.media_max_bytes)
    received = hashlib.sha256(data).hexdigest()
    known = _known(received)
    if known is not None:
        return known, False
    image = images.inspect(data, max_bytes=settings.media_max_bytes, max_pixels=settings.media_max_pixels,
                           max_decode_bytes=settings.media_decode_max_bytes, slots=decode_slots(settings),
                           keep_location=settings.media_keep_location)
    for _ in range(KEEP_TRIES):
        known = _known(image.sha256)
        if known is not None:
            return known, False
        try:
            return _keep(settings, image, received, name), True
        except IntegrityError:  # the same bytes committed by another upload meanwhile: that row, once touched
            pass
    return Media.get(Media.sha256 == image.sha256), False


def add_video(settings: Settings, path: Path, sha256: str, name: str | None = None) -> tuple:
    """Judge and keep an uploaded video, held in the file at ``path`` (its bytes'
    SHA-256 ``sha256``, counted as it was received); return ``(media, created)``.
    The file is copied into the store a chunk at a time, before its row is
    written: a video's copy takes seconds, which no write transaction waits on.

    Raises:
      videos.VideoRefused: not a video socialpub takes (nothing is stored).
      storage.StorageError: the store did not take it (nothing is recorded).
    """
    known = _known(sha256)
    if known is not None:
        return known, False
    judged = videos.judge(path)
    poster, thumbnail = videos.poster(path, at_s=min(POSTER_AT_S, judged.duration_s / 2))
    facts = {"duration_s": judged.duration_s, "frame_rate": judged.frame_rate, "video_codec": judged.video_codec,
             "audio_codec": judged.audio_codec, "audio_sample_rate": judged.audio_sample_rate,
             "moov_first": judged.moov_first, "poster_key": _poster_key(sha256)}
    return _kept_with_poster(settings, path, sha256, judged, poster, thumbnail, name,
                             kind=MediaKind.VIDEO, video=facts)


def add_document(settings: Settings, path: Path, sha256: str, name: str | None = None) -> tuple:
    """Judge and keep an uploaded PDF held in the file at ``path`` (its bytes' SHA-256
    ``sha256``); return ``(media, created)``. Its facts (pages, title, the poster's key)
    are its row's ``document``; the file is copied into the store from disk before its
    row is written, as a video's.

    Raises:
      documents.DocumentRefused: not a PDF LinkedIn takes (nothing is stored).
      storage.StorageError: the store did not take it (nothing is recorded).
    """
    known = _known(sha256)
    if known is not None:
        return known, False
    judged = documents.judge(path)
    poster, thumbnail = documents.poster(path)
    return _kept_with_poster(settings, path, sha256, judged, poster, thumbnail, name, kind=documents.KIND,
                             content_type=documents.CONTENT_TYPE,
                             document={**judged.facts, "poster_key": _poster_key(sha256)})


def _kept_with_poster(settings: Settings, path: Path, sha256: str, judged, poster: bytes, thumbnail: bytes,
                      name: str | None, **fields) -> tuple:
    """A video's or a document's ``(media, created)``: the file (from disk), its poster and its
    thumbnail put in the store, then its row (``fields`` and what ``judged`` measured) written."""
    if "content_type" not in fields:
        fields["content_type"] = judged.content_type
    content_type = fields["content_type"]
    storage, thumbs = f"{sha256}.{EXTENSIONS[content_type]}", f"thumbs/{sha256}.jpg"
    puts = {storage: lambda store, k: store.put_file(k, path, content_type),
            _poster_key(sha256): lambda store, k: store.put(k, poster, "image/jpeg"),
            thumbs: lambda store, k: store.put(k, thumbnail, "image/jpeg")}
    return _kept_from_disk(settings, sha256, puts, dict(
        fields, size_bytes=judged.size_bytes, width=judged.width, height=judged.height, storage_key=storage,
        thumbnail_key=thumbs, original_name=(name or "")[:200] or None))


def _kept_from_disk(settings: Settings, sha256: str, puts: dict, fields: dict) -> tuple:
    """``(media, created)``: the files of ``puts`` ({key: put(store, key)}) put in the store, then the
    row of ``fields`` written — a large file's copy takes seconds, which no write transaction waits on."""
    store = store_of(settings)
    try:
        _put_each(store, puts)
        for _ in range(KEEP_TRIES):
            known = _known(sha256)
            if known is not None:
                return known, False
            try:
                with write_transaction():
                    media = Media.create(sha256=sha256, received_sha256=sha256, **fields)
            except IntegrityError:  # the same bytes committed by another upload meanwhile: that row, once touched
                continue
            # A delete of an earlier row with these bytes may have removed the keys just put before this
            # INSERT waited for it on the unique sha256: put back what is missing (rare; out of the transaction).
            _put_each(store, puts, only_missing=True)
            return media, True
        return Media.get(Media.sha256 == sha256), False
    except BaseException:
        # Nothing half kept: bytes no row names would never be pruned (unless a row with them exists).
        if not Media.select().where(Media.sha256 == sha256).exists():
            for key in puts:
                try:
                    store.delete(key)
                except Exception:  # noqa: BLE001 — the store is failing already: say so, keep the first error
                    logger.warning("Could not remove %s from the media store after a failed upload.", key)
        raise


def _put_each(store, puts: dict, only_missing: bool = False) -> None:
    """Each file of ``puts`` into the store (``only_missing``: those it lacks)."""
    for key, put in puts.items():
        if not only_missing or not store.exists(key):
            put(store, key)


def _known(sha256: str) -> Media | None:
    """The file with these bytes, touched: its upload time moved to now, in one
    conditional UPDATE, so that it is there as the upload is answered — a
    delete that came first leaves nothing to touch (then None) — and pruning
    counts its retention from this upload."""
    with write_transaction():
        media = Media.get_or_none((Media.sha256 == sha256) | (Media.received_sha256 == sha256))
        if media is None or not Media.update(created_at=utcnow()).where(Media.id == media.id).execute():
            return None
        return media


def _keep(settings: Settings, image: images.Inspected, received: str, name: str | None) -> Media:
    """A new row for ``image``, its bytes put in the store inside the row's
    transaction: the row is seen only with its bytes. A delete of an earlier row
    with the same content (whose keys these are) has finished by then — this
    INSERT waits for it on the unique ``sha256`` — so it cannot remove them after.

    Raises:
      IntegrityError: a row with these bytes was committed meanwhile.
      storage.StorageError: nothing is recorded.
    """
    key = f"{image.sha256}.{EXTENSIONS[image.content_type]}"
    thumbnail_key = f"thumbs/{image.sha256}.jpg"
    jpeg_key = f"jpeg/{image.sha256}.jpg" if image.jpeg is not None else None
    store = store_of(settings)
    with write_transaction():
        media = Media.create(content_type=image.content_type, sha256=image.sha256, received_sha256=received,
                             size_bytes=len(image.data), width=image.width, height=image.height,
                             storage_key=key, thumbnail_key=thumbnail_key, jpeg_key=jpeg_key,
                             original_name=(name or "")[:200] or None)
        store.put(key, image.data, image.content_type)
        store.put(thumbnail_key, image.thumbnail, "image/jpeg")
        if jpeg_key:
            store.put(jpeg_key, image.jpeg, "image/jpeg")
    return media


def get(media_id: int) -> Media:
    media = Media.get_or_none(Media.id == media_id)
    if media is None:
        raise NotFound(f"media {media_id} does not exist")
    return media


def delete(settings: Settings, media_id: int):
    """Remove a file no post uses, from the library and the store.

    Raises:
      NotFound, Conflict: no such file, or a post uses it (say which).
    """
    media = get(media_id)
    store = store_of(settings)
    extra = (_poster_key(media.sha256),) if media.kind == documents.KIND else ()
    try:
        with write_transaction():
            user = (PostMedia.get_or_none(PostMedia.media == media.id)
                    or ImageFetch.get_or_none(ImageFetch.media == media.id))
            if user is not None:
                raise Conflict(f"media {media_id} is used by post {user.post_id}: remove it from the post first")
            if not Media.delete().where(Media.id == media.id).execute():
                raise NotFound(f"media {media_id} does not exist")
            # Inside the transaction: an upload of the same bytes again inserts its row (and
            # puts these keys back) only once this has committed (see _keep).
            for key in (media.thumbnail_key, media.jpeg_key, (media.video or {}).get("poster_key"), *extra,
                        media.storage_key):
                if key:
                    store.delete(key)
    except IntegrityError:  # PostgreSQL: a post took it between the check and the DELETE
        raise Conflict(f"media {media_id} was just added to a post: remove it from the post first") from None


#: Unused uploads removed per batch: short transactions, nothing held for long.
PRUNE_BATCH = 100


def prune_unused(settings: Settings, now=None) -> int:
    """Remove the uploads no post uses that are older than MEDIA_RETENTION_DAYS, in
    small batches; return how many. An upload a post takes meanwhile is kept
    (library.delete refuses it)."""
    cutoff = (now or utcnow()) - dt.timedelta(days=settings.media_retention_days)
    removed = 0
    while True:
        batch = [m.id for m in Media.select(Media.id).where(
            (Media.created_at < cutoff) & ~fn.EXISTS(PostMedia.select().where(PostMedia.media == Media.id))
            & ~fn.EXISTS(ImageFetch.select().where(ImageFetch.media == Media.id)))
            .order_by(Media.id).limit(PRUNE_BATCH)]
        for media_id in batch:
            try:
                delete(settings, media_id)
                removed += 1
            except (Conflict, NotFound):  # taken by a post, or removed by another run, meanwhile
                pass
        if len(batch) < PRUNE_BATCH:
            return removed


def post_media(post_id: int) -> list:
    """A post's media, in order."""
    return list(Media.select().join(PostMedia).where(PostMedia.post == post_id).order_by(PostMedia.position))


def as_sent(media: Media, types: tuple) -> tuple:
    """``(key, content type)`` of the rendition a network taking ``types`` gets."""
    if media.content_type in types or not media.jpeg_key:
        return media.storage_key, media.content_type
    return media.jpeg_key, "image/jpeg"


def photos_for(settings: Settings, post_id: int, network: str) -> tuple:
    """The post's uploaded images as ``network`` gets them (worker)."""
    return photos_of(settings, post_media(post_id), network)


def video_for(settings: Settings, post_id: int, network: str, kind: str):
    """The post's video as ``network`` gets it, posted as ``kind`` (worker): its facts,
    a stream of its bytes from the store and, for a network that fetches media, public
    URLs of it and of its poster frame; None when the post has no video. A video that
    kind does not take goes as its rendition for it, once one is ready (media/rendition_jobs.py)."""
    from ..networks import LIMITS
    from ..networks.base import Video
    from .public import public_url
    from .renditions import version_for

    media = next((m for m in post_media(post_id) if m.kind == MediaKind.VIDEO), None)
    if media is None:
        return None
    media = version_for(media, network, kind)
    store, fetches = store_of(settings), LIMITS[network].fetches_media
    poster = (media.video or {}).get("poster_key")
    return Video(kind=kind, content_type=media.content_type, size_bytes=media.size_bytes, width=media.width,
                 height=media.height, facts=dict(media.video or {}), sha256=media.sha256,
                 open=functools.partial(store.open_from, media.storage_key),
                 public_url=public_url(settings, media, media.storage_key) if fetches else None,
                 poster_url=public_url(settings, media, poster) if fetches and poster else None)


def _poster_key(sha256: str) -> str:
    return f"posters/{sha256}.jpg"


def document_for(settings: Settings, post_id: int):
    """The post's document as a network gets it (worker): its facts, its title and a stream
    of its bytes from the store; None when the post has none."""
    from ..networks.base import Document

    media = next((m for m in post_media(post_id) if m.kind == documents.KIND), None)
    if media is None:
        return None
    facts = dict(media.document or {})
    stem = (media.original_name or "").rsplit(".", 1)[0].strip()
    return Document(content_type=media.content_type, size_bytes=media.size_bytes, sha256=media.sha256,
                    title=facts.get("title") or stem or "Document", facts=facts,
                    open=functools.partial(store_of(settings).open_from, media.storage_key))


def photos_of(settings: Settings, files: list, network: str) -> tuple:
    """``files`` (Media rows) as ``network`` gets them: the bytes of a type it takes and, for
    a network that fetches media, a public URL (see public.py)."""
    from ..networks import LIMITS
    from ..networks.base import Photo
    from .public import public_url

    limits, store, photos = LIMITS[network], store_of(settings), []
    for media in [m for m in files if m.kind == MediaKind.IMAGE][:limits.sends_photos]:
        key, content_type = as_sent(media, limits.photo_types)
        photos.append(Photo(content_type=content_type, width=media.width, height=media.height,
                            data=b"" if limits.fetches_media else store.get(key),
                            public_url=public_url(settings, media, key) if limits.fetches_media else None))
    return tuple(photos)
