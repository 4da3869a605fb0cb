"""Files people send — a photo, a video, a CSV file of posts — as the API and the
pages take them: how large a body each endpoint takes, one upload kept in the
media library, and the answer to it. A video or a PDF is never held whole in
memory: the request's file (on disk once past half a megabyte) is copied a chunk
at a time into a file of its own while its SHA-256 is counted."""
from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from pathlib import Path

from flask import current_app, request, url_for

from ..errors import Busy, InvalidInput, StoreUnavailable, TooLarge, UnprocessableImage, UnsupportedMediaType
from ..intake import csv_posts
from ..media import documents, images, library, videos
from ..media.storage import StorageError
from . import serialize
from .serialize import answer

logger = logging.getLogger(__name__)

#: Room for the multipart envelope around the file itself.
ENVELOPE_BYTES = 64 * 1024
#: Files one compose form may carry when sent without its script.
MAX_FILES_PER_FORM = 10
#: A refused image's status, as the error the API answers.
REFUSALS = {413: TooLarge, 415: UnsupportedMediaType, 422: UnprocessableImage, 503: Busy}
#: The endpoints that take files, and how many photos of MEDIA_MAX_BYTES each may carry
#: (the compose form sent without its script carries its photos itself).
PHOTO_ENDPOINTS = {"api.upload_media": 1, "web.upload_media": 1, "web.create": MAX_FILES_PER_FORM,
                   "web.edit_post": MAX_FILES_PER_FORM}
CSV_ENDPOINTS = ("api.import_posts", "web.import_posts")
#: The endpoints that take one photo or one video (a part of one, for an upload in parts).
VIDEO_ENDPOINTS = ("api.upload_media", "web.upload_media", "api.upload_part", "web.upload_part",
                   "web.upload_to_library")
CHUNK = 1 << 20


def body_limit(endpoint, settings) -> int | None:
    """The largest body ``endpoint`` takes, when it takes files (else the app's JSON limit stands).
    Set before anything reads the body — the CSRF check reads the form first."""
    if endpoint in VIDEO_ENDPOINTS:
        return max(settings.media_max_bytes, settings.media_video_max_bytes) + ENVELOPE_BYTES
    if endpoint in PHOTO_ENDPOINTS:
        return settings.media_max_bytes * PHOTO_ENDPOINTS[endpoint] + ENVELOPE_BYTES
    if endpoint in CSV_ENDPOINTS:
        return csv_posts.MAX_BYTES + ENVELOPE_BYTES
    return None


def keep(upload) -> tuple:
    """``(media, created)`` for one uploaded file (a werkzeug FileStorage).

    Raises:
      AppError: refused (413, 415, 422 on the field ``file``) or the store is down (503).
    """
    settings = current_app.extensions["socialpub"]
    with _refusals():
        head = upload.stream.read(16)
        upload.stream.seek(0)
        if videos.looks_like_video(head):
            return _keep_video(settings, upload)
        if documents.looks_like_pdf(head):
            return _keep_held(upload, documents.MAX_BYTES, documents.too_large,
                              lambda path, digest: library.add_document(settings, path, digest, upload.filename))
        # Measured before it is read: this endpoint takes a body of a video's size.
        images.check_length(upload.stream.seek(0, 2), max_bytes=settings.media_max_bytes)
        upload.stream.seek(0)
        return library.add(settings, upload.read(), upload.filename)


def keep_file(path: Path, name: str | None) -> tuple:
    """``(media, created)`` for a file that arrived on disk (an upload in parts), as :func:`keep`."""
    settings = current_app.extensions["socialpub"]
    with _refusals(), path.open("rb") as held:
        head = held.read(16)
        if videos.looks_like_video(head) or documents.looks_like_pdf(head):
            held.seek(0)
            digest = hashlib.sha256()
            for chunk in iter(lambda: held.read(CHUNK), b""):
                digest.update(chunk)
            if documents.looks_like_pdf(head):
                return library.add_document(settings, path, digest.hexdigest(), name)
            return library.add_video(settings, path, digest.hexdigest(), name)
        images.check_length(path.stat().st_size, max_bytes=settings.media_max_bytes)
        held.seek(0)
        return library.add(settings, held.read(), name)


@contextlib.contextmanager
def _refusals():
    """A refused file or a store that is down, as the error the API answers."""
    try:
        yield
    except images.MediaRefused as refusal:
        raise REFUSALS[refusal.status](refusal.message, field="file") from None
    except StorageError as exc:
        logger.warning("The media store did not take an upload: %s", exc)  # its words are for the log
        raise StoreUnavailable("the media store did not take the file; nothing was stored: try again in a "
                               "moment (the log says what the store answered)") from None


def _keep_video(settings, upload) -> tuple:
    """A video upload kept from a file of its own (:func:`_keep_held`)."""
    def too_large():
        allowed = settings.media_video_max_bytes / 2**20
        return videos.VideoRefused(f"file: the video is larger than the {allowed:g} MiB allowed "
                                   f"(SOCIALPUB_MEDIA_VIDEO_MAX_BYTES)", 413)

    return _keep_held(upload, settings.media_video_max_bytes, too_large,
                      lambda path, digest: library.add_video(settings, path, digest, upload.filename))


def _keep_held(upload, max_bytes: int, too_large, keep) -> tuple:
    """``keep(path, sha256)`` of an upload copied to a file of its own, a chunk at a time, its
    SHA-256 counted on the way; ``too_large()`` raised past ``max_bytes``."""
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(prefix="socialpub-upload-") as held:
        for chunk in iter(lambda: upload.stream.read(CHUNK), b""):
            size += len(chunk)
            if size > max_bytes:
                raise too_large()
            digest.update(chunk)
            held.write(chunk)
        held.flush()
        return keep(Path(held.name), digest.hexdigest())


def upload_response():
    """The answer to one upload in the field ``file`` (the API's, and the compose page's script's)."""
    if not request.content_type or not request.content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaType("body: send the file as multipart/form-data, in the field 'file'")
    files = request.files.getlist("file")
    if len(files) != 1:
        raise InvalidInput("file: send exactly one file in the field 'file'" if files
                           else "file: missing (multipart field 'file')", field="file")
    media, created = keep(files[0])
    response = answer(serialize.media(media), 201 if created else 200)
    response.headers["Location"] = url_for("api.get_media", media_id=media.id)
    return response
