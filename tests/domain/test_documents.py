"""Documents judged by their content (media/documents.py): a PDF made at test time read for its pages,
its title and its first page's size, its first page drawn; an encrypted, damaged or too long one refused
in plain words, as LinkedIn's Documents API would refuse it (100 MB, 300 pages)."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from socialpub.media import documents
from socialpub.networks import LIMITS, Content
from socialpub.networks.base import Document, Photo
from tests.support.documents import make_pdf, write_pdf


def test_a_pdf_is_judged_for_its_pages_title_and_first_page_size(tmp_path):
    judged = documents.judge(write_pdf(tmp_path / "deck.pdf", pages=12, title="  Quarterly\nresults ",
                                       width=960, height=540))
    assert (judged.pages, judged.title, judged.width, judged.height) == (12, "Quarterly results", 960, 540)
    assert judged.size_bytes == (tmp_path / "deck.pdf").stat().st_size
    assert documents.label(judged.pages) == "PDF, 12 pages" and documents.label(1) == "PDF, 1 page"


def test_a_pdf_without_a_title_has_none(tmp_path):
    assert documents.judge(write_pdf(tmp_path / "plain.pdf", pages=1)).title is None


def test_the_first_page_becomes_a_poster_and_a_thumbnail(tmp_path):
    poster, thumbnail = documents.poster(write_pdf(tmp_path / "deck.pdf", pages=2, width=612, height=792))
    big, small = Image.open(io.BytesIO(poster)), Image.open(io.BytesIO(thumbnail))
    assert (big.format, big.size) == ("JPEG", (1080, 1398))
    assert small.format == "JPEG" and max(small.size) <= 320
    # The page's drawing is there (a blue square in its lower left), not a blank page.
    red, green, blue = big.convert("RGB").getpixel((200, 1300))
    assert blue > 150 and red < 100


def test_only_a_pdf_header_is_taken_for_a_pdf():
    assert documents.looks_like_pdf(make_pdf(pages=1)[:16])
    assert not documents.looks_like_pdf(b"\x89PNG\r\n\x1a\n") and not documents.looks_like_pdf(b" %PDF-1.7")


def test_an_encrypted_pdf_is_refused_saying_so(tmp_path):
    with pytest.raises(documents.DocumentRefused) as refused:
        documents.judge(write_pdf(tmp_path / "locked.pdf", pages=2, password="secret"))
    assert refused.value.status == 422
    assert "encrypted (protected by a password)" in refused.value.message
    assert "save a copy without protection" in refused.value.message


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_damaged_pdf_is_refused_saying_so(tmp_path, cut):
    data = make_pdf(pages=4)
    (tmp_path / "cut.pdf").write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(documents.DocumentRefused) as refused:
        documents.judge(tmp_path / "cut.pdf")
        documents.poster(tmp_path / "cut.pdf")
    assert "damaged" in refused.value.message and "export it again" in refused.value.message


def test_more_pages_than_linkedin_takes_is_refused(tmp_path):
    with pytest.raises(documents.DocumentRefused) as refused:
        documents.judge(write_pdf(tmp_path / "long.pdf", pages=301))
    assert refused.value.message == "file: the PDF has 301 pages; LinkedIn takes 300 at most: split it"
    assert documents.judge(write_pdf(tmp_path / "just.pdf", pages=300)).pages == 300


def test_more_bytes_than_linkedin_takes_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "MAX_BYTES", 500)  # 100 MB, made small: the file is a few hundred bytes
    with pytest.raises(documents.DocumentRefused) as refused:
        documents.judge(write_pdf(tmp_path / "big.pdf", pages=3))
    assert refused.value.status == 413 and "larger than the 0.0005 MB LinkedIn takes" in refused.value.message


def document() -> Document:
    return Document(content_type="application/pdf", size_bytes=1000, title="Deck", facts={"pages": 12})


def test_only_linkedin_takes_a_document_and_the_others_say_how_to_fix_it():
    content = Content("Our deck", document=document())
    assert LIMITS["linkedin"].problems(content, "LinkedIn") == []
    for network, label in (("facebook", "Facebook"), ("instagram", "Instagram"), ("whatsapp", "WhatsApp")):
        assert LIMITS[network].problems(content, label)[:1] == [
            ("media_ids", f"a document goes to LinkedIn only: untick {label}, or post photos there")]


def test_a_document_goes_alone():
    content = Content("Deck and photo", document=document(), photos=(Photo("image/jpeg", 100, 100),))
    assert LIMITS["linkedin"].problems(content) == [
        ("media_ids", "a post carries one document alone: no photos, video or image_url beside it")]
