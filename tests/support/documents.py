"""PDFs made at test time with pypdf (no binary fixtures): pages of a size, a title, a password."""
from __future__ import annotations

import io
from pathlib import Path

import pypdf
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject


def make_pdf(pages: int = 3, *, title: str | None = None, width: float = 612, height: float = 792,
             password: str | None = None) -> bytes:
    """A PDF of ``pages`` pages (each with a filled square drawn on it, so its first page is no blank
    poster), ``title`` in its metadata, encrypted with ``password``."""
    writer = pypdf.PdfWriter()
    for number in range(pages):
        page = writer.add_blank_page(width=width, height=height)
        drawing = DecodedStreamObject()
        drawing.set_data(f"0.2 0.4 0.8 rg 36 36 {width / 2:g} {height / 3 + number:g} re f".encode())
        page[NameObject("/Resources")] = DictionaryObject()
        page.replace_contents(drawing)
    if title:
        writer.add_metadata({"/Title": title})
    if password:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_pdf(path: Path, **kwargs) -> Path:
    path.write_bytes(make_pdf(**kwargs))
    return path
