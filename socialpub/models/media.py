"""Uploaded media, the posts that use them, and a post's image fetched once."""
from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .base import BaseModel, IdField, JSONField, utcnow
from .posts import Post


class MediaKind:
    IMAGE = "image"
    VIDEO = "video"
    #: A PDF (media/documents.py), which LinkedIn posts as a document.
    DOCUMENT = "document"
    ALL = (IMAGE, VIDEO, DOCUMENT)


class Media(BaseModel):
    """An uploaded file in the media store, judged by its content (media/images.py,
    media/videos.py). The same bytes uploaded twice are one row (``sha256`` is unique)."""

    id = IdField()
    kind = CharField(max_length=16, default=MediaKind.IMAGE)
    content_type = CharField(max_length=64)
    sha256 = CharField(max_length=64, unique=True)
    #: The SHA-256 of the bytes as they were uploaded (they differ from ``sha256``
    #: when the location was taken out): sent again, they are found without decoding.
    received_sha256 = CharField(max_length=64, null=True, index=True)
    size_bytes = IntegerField()
    width = IntegerField()
    height = IntegerField()
    #: Keys in the media store (media/storage.py), made from the content, never from a name.
    storage_key = CharField(max_length=100)
    thumbnail_key = CharField(max_length=100)
    #: A JPEG rendition of a PNG, WebP or GIF, for the networks that take JPEG
    #: only (Instagram) or not its type; NULL for a JPEG.
    jpeg_key = CharField(max_length=100, null=True)
    #: A video's facts as judged (duration_s, frame_rate, video_codec, audio_codec,
    #: audio_sample_rate, moov_first) and its poster frame's key; None for an image.
    video = JSONField(null=True)
    #: A document's facts as judged (pages, title) and its first page's key; None for a photo or a video.
    document = JSONField(null=True)
    #: The name the file had on the person's computer, shown only (never a path).
    original_name = CharField(max_length=200, null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    #: A rendition (media/renditions.py): the video it was made from — null for an upload, and once
    #: its source is deleted — and the kind of post it was made for (``facebook/reel``); one per
    #: source and kind (the unique index, which also serves the foreign key).
    rendition_of = ForeignKeyField("self", null=True, backref="renditions", on_delete="SET NULL", index=False)
    rendition_for = CharField(max_length=40, null=True)

    class Meta:
        indexes = ((("rendition_of", "rendition_for"), True),)


class PostMedia(BaseModel):
    """A post's images, in order."""

    id = IdField()
    post = ForeignKeyField(Post, backref="media_links", on_delete="CASCADE")
    media = ForeignKeyField(Media, backref="post_links")
    position = IntegerField()

    class Meta:
        indexes = ((("post", "position"), True),)


class ImageFetch(BaseModel):
    """A post's ``image_url`` fetched once into the media library
    (media/remote.py), so that every network gets the same bytes. ``claimed_at``
    fences the worker fetching it; ``media`` is set when it is done."""

    post = ForeignKeyField(Post, primary_key=True, on_delete="CASCADE")
    url = TextField()
    media = ForeignKeyField(Media, null=True)
    claimed_at = DateTimeField()
    #: Why the last fetch failed (shown to the post's reviewer), until one succeeds.
    error = TextField(null=True)
