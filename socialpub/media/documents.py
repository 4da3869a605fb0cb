"""A document judged by its content: a PDF, read with pypdf (its pages, its title,
whether it is encrypted or damaged) from a path, never whole into memory, and its
first page drawn with pypdfium2 (PDFium, in its wheels) as a poster and a thumbnail.

What is refused is what LinkedIn's Documents API refuses — the only network a
document goes to: more than 100 MB or 300 pages. LinkedIn also takes PPT, PPTX,
DOC and DOCX; socialpub keeps PDFs only (what every editor exports).
"""
from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..models import MediaKind
from .images import THUMBNAIL_SIZE, MediaRefused

#: LinkedIn's Documents API: "The file size cannot exceed 100MB and 300 pages."
DOCUMENTS_API = "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/documents-api"
MAX_BYTES = 100 * 10**6
MAX_PAGES = 300
CONTENT_TYPE = "application/pdf"
#: Media.kind of a document.
KIND = MediaKind.DOCUMENT
#: The first page drawn this wide (or this tall, for a page taller than 2:1), in pixels.
POSTER_WIDTH = 1080
POSTER_MAX_HEIGHT = 2160
POSTER_QUALITY = 85
#: The longest title kept (from the PDF's own metadata).
TITLE_CHARS = 200

logger = logging.getLogger(__name__)
#: PDFium is not thread-safe: one page drawn at a time per process.
_pdfium = threading.Lock()


class DocumentRefused(MediaRefused):
    """The file is not a document socialpub takes (413 too large, 422 refused)."""


def looks_like_pdf(head: bytes) -> bool:
    """Whether a file's first bytes are a PDF's header (``%PDF-``)."""
    return head.startswith(b"%PDF-")


@dataclass(frozen=True)
class Judged:
    """An accepted PDF: its pages, its title, its first page's size in points."""

    pages: int
    title: str | None
    width: int
    height: int
    size_bytes: int

    @property
    def facts(self) -> dict:
        return {"pages": self.pages, "title": self.title}


def judge(path: Path) -> Judged:
    """The PDF at ``path``, judged.

    Raises:
      DocumentRefused: too large, encrypted, damaged, without pages or with more than LinkedIn takes.
    """
    import pypdf  # loaded by the processes that judge a document, not by every one (worker RSS)
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    size = Path(path).stat().st_size
    if size > MAX_BYTES:
        raise too_large()
    try:
        # From an open file, which pypdf reads as it needs: given a path, it reads the whole file first.
        with open(path, "rb") as held:
            reader = pypdf.PdfReader(held, strict=False)
            if reader.is_encrypted:
                raise DocumentRefused("file: the PDF is encrypted (protected by a password): LinkedIn cannot show "
                                      "its pages; save a copy without protection and upload that")
            pages = len(reader.pages)
            if pages:
                box = reader.pages[0].mediabox
                rotated = (reader.pages[0].get("/Rotate") or 0) % 180 == 90
                width, height = float(box.width), float(box.height)
                width, height = (height, width) if rotated else (width, height)
            title = _title(reader)
    except DocumentRefused:
        raise
    except (PyPdfError, FileNotDecryptedError, ValueError, KeyError, TypeError, AttributeError,
            RecursionError) as exc:
        logger.info("A PDF could not be read: %r", exc)
        raise DocumentRefused("file: the PDF is damaged (it cannot be read): export it again from the program "
                              "that made it") from None
    if not pages:
        raise DocumentRefused("file: the PDF has no pages")
    if pages > MAX_PAGES:
        raise DocumentRefused(f"file: the PDF has {pages} pages; LinkedIn takes {MAX_PAGES} at most: split it")
    if width < 1 or height < 1:
        raise DocumentRefused("file: the PDF's first page has no size: export it again")
    return Judged(pages=pages, title=title, width=round(width), height=round(height), size_bytes=size)


def too_large() -> DocumentRefused:
    return DocumentRefused(f"file: the PDF is larger than the {MAX_BYTES / 10**6:g} MB LinkedIn takes: export it "
                           f"smaller (fewer or smaller pictures)", 413)


def poster(path: Path) -> tuple:
    """``(poster, thumbnail)``: JPEGs of the first page, POSTER_WIDTH wide and at most THUMBNAIL_SIZE.

    Raises:
      DocumentRefused: PDFium cannot draw it (damaged inside).
    """
    import pypdfium2 as pdfium  # PDFium's library: loaded by the processes that draw a page, not by every one

    try:
        with _pdfium:
            pdf = pdfium.PdfDocument(str(path))
            try:
                page = pdf[0]
                width, height = page.get_size()
                scale = min(POSTER_WIDTH / width, POSTER_MAX_HEIGHT / height)
                image = page.render(scale=scale).to_pil()
                page.close()
            finally:
                pdf.close()
    except pdfium.PdfiumError as exc:
        logger.info("A PDF's first page could not be drawn: %s", exc)
        raise DocumentRefused("file: the PDF's first page cannot be drawn (the file is damaged): export it "
                              "again from the program that made it") from None
    thumbnail = image.copy()
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    return _jpeg(image), _jpeg(thumbnail)


def _title(reader) -> str | None:
    title = reader.metadata.title if reader.metadata is not None else None
    title = " ".join(str(title).split()) if title else ""
    return title[:TITLE_CHARS] or None


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=POSTER_QUALITY)
    return out.getvalue()


def label(pages: int) -> str:
    """How a document is named on the pages: "PDF, 12 pages"."""
    return f"PDF, {pages} page{'' if pages == 1 else 's'}"
