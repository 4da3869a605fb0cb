"""A post with a document, end to end: a PDF uploaded to the app, published by the workers to LinkedIn
through its Documents API, and held by the sandbox as the same bytes; what is refused, in plain words:
an encrypted PDF, one longer than LinkedIn takes, a document ticked for another network."""
from __future__ import annotations

import hashlib

import requests

from socialpub.models import Media, Publication
from tests.support.documents import make_pdf
from tests.web.test_media import stored_files, upload


def test_a_pdf_uploaded_through_the_api_is_published_on_linkedin_with_the_same_sha256(
        client, settings, sandbox_channels, sandbox_client, drain):
    deck = make_pdf(pages=12, title="Quarterly results")
    response = upload(client, deck, "q3-deck.pdf")
    assert response.status_code == 201, response.get_json()
    media = response.get_json()
    assert (media["kind"], media["content_type"], media["width"], media["height"]) == \
        ("document", "application/pdf", 612, 792)
    assert media["document"] == {"pages": 12, "title": "Quarterly results"}
    sha = hashlib.sha256(deck).hexdigest()
    assert stored_files(settings) == [f"{sha}.pdf", f"posters/{sha}.jpg", f"thumbs/{sha}.jpg"]
    post = client.post("/api/posts", json={"text": "Our quarter, in 12 pages", "media_ids": [media["id"]],
                                           "networks": ["linkedin"], "publish": True})
    assert post.status_code == 201, post.get_json()
    drain()
    status = client.get(f"/api/posts/{post.get_json()['id']}/status").get_json()
    assert status["status"] == "published", status
    [item] = sandbox_client.received()
    assert item["network"] == "linkedin" and item["document"] == {"sha256": sha, "bytes": len(deck), "pages": 12}
    [held] = requests.get(f"{sandbox_client.url}/_sandbox/linkedin/documents", timeout=5).json()["documents"]
    assert held["puts"] == 1 and held["posts"] == [item["item_id"]]
    assert Publication.get(Publication.post == post.get_json()["id"]).external_id == item["item_id"]


def test_a_document_ticked_for_another_network_is_refused_naming_the_fix(client, sandbox_channels, sandbox_client):
    media = upload(client, make_pdf(pages=2), "deck.pdf").get_json()
    response = client.post("/api/posts", json={"text": "Deck", "media_ids": [media["id"]],
                                               "networks": ["linkedin", "facebook"], "publish": True})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "media_ids"
    assert "a document goes to LinkedIn only: untick Facebook, or post photos there (facebook)" in error["message"]
    assert sandbox_client.received() == []
    # As a draft it is kept; it is refused when it is to go out.
    draft = client.post("/api/posts", json={"text": "Deck", "media_ids": [media["id"]],
                                            "networks": ["linkedin", "facebook"]})
    assert draft.status_code == 201
    assert client.post(f"/api/posts/{draft.get_json()['id']}/publish").status_code == 422


def test_a_document_goes_alone_in_a_post(client, sandbox_channels):
    deck = upload(client, make_pdf(pages=2), "deck.pdf").get_json()
    other = upload(client, make_pdf(pages=3), "other.pdf").get_json()
    response = client.post("/api/posts", json={"text": "Two", "media_ids": [deck["id"], other["id"]],
                                               "networks": ["linkedin"]})
    assert response.status_code == 400 and "one document alone" in response.get_json()["error"]["message"]


def test_an_encrypted_pdf_or_one_longer_than_linkedin_takes_is_refused_and_nothing_is_kept(client, settings):
    locked = upload(client, make_pdf(pages=2, password="secret"), "locked.pdf")
    assert locked.status_code == 422
    assert "the PDF is encrypted" in locked.get_json()["error"]["message"]
    long = upload(client, make_pdf(pages=301), "long.pdf")
    assert long.status_code == 422
    assert long.get_json()["error"] == {**long.get_json()["error"], "field": "file",
                                        "message": "file: the PDF has 301 pages; LinkedIn takes 300 at most: "
                                                   "split it"}
    damaged = upload(client, make_pdf(pages=3)[:300], "cut.pdf")
    assert damaged.status_code == 422 and "damaged" in damaged.get_json()["error"]["message"]
    assert stored_files(settings) == [] and Media.select().count() == 0


def test_the_compose_form_takes_a_document_from_the_library_and_says_what_it_is(client):
    media = upload(client, make_pdf(pages=12), "deck.pdf").get_json()
    page = client.get(f"/compose?media={media['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "PDF, 12 pages" in html and f'name="media_ids" value="{media["id"]}"' in html
