"""Where media bytes live, behind one interface with two backends: a folder
on the local disk (the embedded default: ``<instance>/media``) and
S3-compatible object storage through boto3 (AWS S3, MinIO, Cloudflare R2),
chosen by ``MEDIA_STORAGE`` (``local`` or ``s3://bucket/prefix``).

Keys are made by the library (``<sha256>.<ext>``, ``thumbs/…``), never from
a file's name, so no upload can reach outside its store.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

#: What a key may be: the library's own names, nothing that climbs out.
KEY = re.compile(r"^(thumbs/|jpeg/|posters/)?[0-9a-f]{64}\.(jpg|png|webp|gif|mp4|mov|pdf)$")


class StorageError(Exception):
    """The store did not take or give the bytes (its words)."""


def _checked(key: str) -> str:
    if not KEY.match(key):
        raise ValueError(f"not a media key: {key!r}")
    return key


class LocalStorage:
    """Files in one folder, written aside then renamed into place (never half a file)."""

    def __init__(self, root):
        self.root = Path(root)

    def describe(self) -> str:
        return f"the folder {self.root}"

    def put(self, key: str, data: bytes, content_type: str):
        path = self.root / _checked(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, aside = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            os.replace(aside, path)
        except OSError as exc:
            Path(aside).unlink(missing_ok=True)
            raise StorageError(f"cannot write {path}: {exc.strerror}") from None

    def put_file(self, key: str, source: Path, content_type: str):
        """``put`` from a file on disk, copied in chunks (a video is never read whole)."""
        path = self.root / _checked(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, aside = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        os.close(descriptor)
        try:
            shutil.copyfile(source, aside)
            os.replace(aside, path)
        except OSError as exc:
            Path(aside).unlink(missing_ok=True)
            raise StorageError(f"cannot write {path}: {exc.strerror}") from None

    def path_of(self, key: str) -> Path:
        """Where the file is, for a response that streams it."""
        return self.root / _checked(key)

    def exists(self, key: str) -> bool:
        return (self.root / _checked(key)).exists()

    def get(self, key: str) -> bytes:
        try:
            return (self.root / _checked(key)).read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from None

    def open_from(self, key: str, start: int = 0):
        """The file for reading from byte ``start`` (a large one is read a part at a time)."""
        try:
            stream = (self.root / _checked(key)).open("rb")
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from None
        stream.seek(start)
        return stream

    def delete(self, key: str):
        (self.root / _checked(key)).unlink(missing_ok=True)

    def presigned_url(self, key: str, expires_s: int):
        """None: the local disk has no URL of its own (the app serves signed ones)."""
        return None


class S3Storage:
    """Objects under ``prefix`` in ``bucket``, through boto3; credentials and
    region from the usual AWS variables (or an instance role)."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, client=None):
        import boto3

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url or None)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{_checked(key)}" if self.prefix else _checked(key)

    def put(self, key: str, data: bytes, content_type: str):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 did not take {key}: {exc}") from None

    def put_file(self, key: str, source: Path, content_type: str):
        """``put`` from a file on disk: boto3 sends a large one as a multipart upload, a part at a time."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(str(source), self.bucket, self._name(key), ExtraArgs={"ContentType": content_type})
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 did not take {key}: {exc}") from None

    def path_of(self, key: str) -> None:
        """None: the file is not on this disk (a signed URL gives it)."""
        return None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"S3 did not say whether it holds {key}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageError(f"S3 did not say whether it holds {key}: {exc}") from None

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 did not give {key}: {exc}") from None

    def open_from(self, key: str, start: int = 0):
        """The object's body from byte ``start`` (a ranged GET), streamed as it is read."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key), Range=f"bytes={start}-")["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 did not give {key}: {exc}") from None

    def delete(self, key: str):
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def presigned_url(self, key: str, expires_s: int) -> str:
        """A GET URL anyone may use until it expires (for a network that fetches the image)."""
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket,
                                                                        "Key": self._name(key)},
                                                  ExpiresIn=expires_s)


def storage_from(setting: str, instance_dir: str, endpoint_url: str | None = None):
    """The store ``MEDIA_STORAGE`` names: ``local`` (or empty) or ``s3://bucket/prefix``.

    Raises:
      ValueError: anything else, in words for the person who set it.
    """
    if setting in ("", "local"):
        return LocalStorage(Path(instance_dir) / "media")
    parts = urlsplit(setting)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"SOCIALPUB_MEDIA_STORAGE must be 'local' or s3://bucket/prefix, not {setting!r}")
    return S3Storage(parts.netloc, parts.path, endpoint_url)


@functools.lru_cache(maxsize=8)
def _store(setting: str, instance_dir: str, endpoint_url: str):
    return storage_from(setting, instance_dir, endpoint_url)


def store_of(settings):
    """The media store these settings name (one per setting, reused)."""
    return _store(settings.media_storage, settings.instance_dir, settings.media_s3_endpoint_url)
