"""LinkedIn documents against the sandbox: the Documents API's initializeUpload, one PUT of the whole
file streamed with its length, the document's URN checkpointed before the PUT, its processing polled
until it is AVAILABLE, and an upload resumed after a crash without a second document."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from socialpub.networks import Content, ErrorKind, PublishError
from socialpub.networks.base import Document
from socialpub.networks.linkedin import LinkedInAdapter
from tests.networks.test_linkedin_video import Crash, adapter, calls
from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import AUTHOR, configure, received, target
from tests.support.documents import write_pdf


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("linkedin") / "deck.pdf", pages=12, title="Quarterly results")


class Opened:
    """The file as the worker hands it over (a stream from an offset), remembering every stream it opened."""

    def __init__(self, path: Path):
        self.path, self.streams = path, []

    def __call__(self, start: int):
        stream = self.path.open("rb")
        stream.seek(start)
        self.streams.append(stream)
        return stream


def as_document(path: Path, opened=None) -> Document:
    data = path.read_bytes()
    return Document(content_type="application/pdf", size_bytes=len(data), title="Quarterly results",
                    facts={"pages": 12, "title": "Quarterly results"}, sha256=hashlib.sha256(data).hexdigest(),
                    open=opened or Opened(path))


def documents(sandbox) -> list:
    return requests.get(f"{sandbox.url}/_sandbox/linkedin/documents", timeout=5).json()["documents"]


class Checkpoints:
    """The last checkpoint, as Publication.uploads keeps it; with ``crash_at_first``, dies once the first
    is saved (after initializeUpload, before the PUT)."""

    def __init__(self, crash_at_first=False):
        self.saved, self.crash_at_first = {}, crash_at_first

    def __call__(self, state):
        self.saved = dict(state)
        if self.crash_at_first:
            self.crash_at_first = False
            raise Crash("killed between initializeUpload and the PUT")

    @property
    def uploads(self) -> dict:
        return self.saved.get("uploads") or {}


def test_a_document_post_uploads_the_pdf_once_and_the_sandbox_holds_the_same_sha256(sandbox, deck):
    configure(sandbox, {"linkedin": {"video_processing_s": 0.05}})
    opened = Opened(deck)
    document, seen = as_document(deck, opened), []
    published = adapter().publish(target(sandbox, "linkedin"), Content("Our results, in 12 pages", document=document),
                                  checkpoint=seen.append)
    [item] = received(sandbox, "linkedin")
    [held] = documents(sandbox)
    assert item["item_id"] == published.external_id and item["text"] == "Our results, in 12 pages"
    assert item["document"] == {"sha256": document.sha256, "bytes": document.size_bytes, "pages": 12}
    assert (held["owner"], held["status"], held["puts"], held["posts"]) == \
        (AUTHOR, "AVAILABLE", 1, [published.external_id])
    [post] = calls(sandbox, "/rest/posts")
    assert post["json"]["content"] == {"media": {"id": held["document"], "title": "Quarterly results"}}
    [initialize] = calls(sandbox, "/rest/documents", "POST")
    assert initialize["json"] == {"initializeUploadRequest": {"owner": AUTHOR}}
    # The URN and its address checkpointed before the PUT, then that LinkedIn has the bytes.
    assert [s["uploads"]["uploaded"] for s in seen] == [False, True]
    assert seen[0]["uploads"]["document_urn"] == held["document"]
    assert seen[1]["uploads"]["uploaded_bytes"] == document.size_bytes
    # Streamed from the store and closed; processing polled (PROCESSING, then AVAILABLE).
    assert len(opened.streams) == 1 and opened.streams[0].closed
    assert len(calls(sandbox, "/rest/documents/urn", "GET")) >= 1


def test_the_pdf_is_sent_with_its_length_a_block_at_a_time(sandbox, deck):
    document = as_document(deck)
    with document.body() as body:
        assert len(body) == document.size_bytes
        first = body.read(100)
        assert len(first) == 100 and len(body) == document.size_bytes - 100
        rest = body.read()
    assert hashlib.sha256(first + rest).hexdigest() == document.sha256


def test_a_crash_between_initialize_and_put_uploads_to_the_same_document(sandbox, deck):
    configure(sandbox, {"linkedin": {"video_processing_s": 0}})
    to, content = target(sandbox, "linkedin"), Content("Resumed deck", document=as_document(deck))
    checkpoints = Checkpoints(crash_at_first=True)
    with pytest.raises(Crash):
        adapter().publish(to, content, checkpoint=checkpoints)
    assert checkpoints.uploads["uploaded"] is False and calls(sandbox, "/uploaded-document/") == []
    published = adapter().publish(to, content, checkpoint=checkpoints, resume=checkpoints.saved)
    [held] = documents(sandbox)
    assert len(calls(sandbox, "/rest/documents", "POST")) == 1  # one initializeUpload: no second document
    assert (held["puts"], held["sha256"], held["posts"]) == (1, content.document.sha256, [published.external_id])
    assert [item["item_id"] for item in received(sandbox, "linkedin")] == [published.external_id]


def test_a_crash_after_the_put_reuses_the_document_linkedin_has(sandbox, deck):
    configure(sandbox, {"linkedin": {"video_processing_s": 0}})
    to, content, checkpoints = target(sandbox, "linkedin"), Content("Sent once", document=as_document(deck)), \
        Checkpoints()
    adapter().publish(to, content, checkpoint=checkpoints)
    # The PUT went through but its checkpoint was lost: LinkedIn is asked, and the bytes are not sent again.
    lost = {"uploads": {**checkpoints.uploads, "uploaded": False}}
    configure(sandbox, {"linkedin": {"reject_duplicates": False}})
    adapter().publish(to, Content("Sent once, posted again", document=as_document(deck)), resume=lost)
    [held] = documents(sandbox)
    assert held["puts"] == 1 and len(calls(sandbox, "/rest/documents", "POST")) == 1


def test_an_expired_upload_url_starts_a_new_upload_and_makes_one_post(sandbox, deck, caplog):
    configure(sandbox, {"linkedin": {"video_processing_s": 0}})
    to, content = target(sandbox, "linkedin"), Content("After expiry", document=as_document(deck))
    checkpoints = Checkpoints(crash_at_first=True)
    with pytest.raises(Crash):
        adapter().publish(to, content, checkpoint=checkpoints)
    requests.post(f"{sandbox.url}/_sandbox/linkedin/documents/expire", timeout=5).raise_for_status()
    # Its uploadUrlExpiresAt has passed as the next attempt starts: no doomed PUT to the old address.
    resume = {"uploads": {**checkpoints.uploads, "expires_at": 1000}}
    published = adapter().publish(to, content, checkpoint=checkpoints, resume=resume)
    old, new = documents(sandbox)
    assert calls(sandbox, old["document"].rsplit(":", 1)[1] + "/uploaded-document/") == []
    assert old["posts"] == [] and old["puts"] == 0 and new["posts"] == [published.external_id]
    assert checkpoints.uploads["document_urn"] == new["document"]
    assert any("expired before its bytes were sent" in r.getMessage() for r in caplog.records)


def test_an_upload_url_linkedin_refuses_starts_a_new_upload(sandbox, deck):
    configure(sandbox, {"linkedin": {"video_processing_s": 0}})
    to, content = target(sandbox, "linkedin"), Content("Refused address", document=as_document(deck))
    checkpoints = Checkpoints(crash_at_first=True)
    with pytest.raises(Crash):
        adapter().publish(to, content, checkpoint=checkpoints)
    # Expired at LinkedIn while our checkpoint still says it is valid: the PUT is answered 401.
    requests.post(f"{sandbox.url}/_sandbox/linkedin/documents/expire", timeout=5).raise_for_status()
    resume = {"uploads": {**checkpoints.uploads, "expires_at": None}}
    adapter().publish(to, content, checkpoint=checkpoints, resume=resume)
    assert [r["status"] for r in calls(sandbox, "/uploaded-document/", "PUT")] == [401, 201]
    assert len(documents(sandbox)) == 2 and len(received(sandbox, "linkedin")) == 1


def test_a_document_linkedin_could_not_process_is_a_permanent_error_in_plain_words(sandbox, deck):
    configure(sandbox, {"linkedin": {"video_processing_s": 0}})
    requests.post(f"{sandbox.url}/_sandbox/linkedin/documents", json={"outcome": "PROCESSING_FAILED"},
                  timeout=5).raise_for_status()
    checkpoints = Checkpoints()
    with pytest.raises(PublishError) as caught:
        adapter().publish(target(sandbox, "linkedin"), Content("Broken", document=as_document(deck)),
                          checkpoint=checkpoints)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.PERMANENT, "PROCESSING_FAILED")
    assert "LinkedIn could not process the document" in caught.value.message
    assert "check that it opens in a PDF reader, then retry" in caught.value.message
    assert checkpoints.saved == {"uploads": {}} and calls(sandbox, "/rest/posts") == []


def test_a_document_still_processing_is_transient_and_the_retry_polls_the_same_document(sandbox, deck):
    configure(sandbox, {"linkedin": {"video_processing_s": 600}})
    to, content, checkpoints = target(sandbox, "linkedin"), Content("Slow", document=as_document(deck)), Checkpoints()
    with pytest.raises(PublishError) as caught:
        adapter(poll_timeout=0.05).publish(to, content, checkpoint=checkpoints)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "PROCESSING")
    assert "still processing the document" in caught.value.message
    configure(sandbox, {"linkedin": {"video_processing_s": 0}})
    published = adapter().publish(to, content, checkpoint=checkpoints, resume=checkpoints.saved)
    [held] = documents(sandbox)
    assert held["puts"] == 1 and held["posts"] == [published.external_id]


def _post(sandbox, body):
    return requests.post(f"{sandbox.url}/rest/posts", json=body, timeout=5, headers={
        "Authorization": "Bearer token-1", "LinkedIn-Version": "202607", "X-Restli-Protocol-Version": "2.0.0"})


def _uploaded(sandbox, deck, owner=AUTHOR) -> str:
    to = target(sandbox, "linkedin")
    to = type(to)(**{**to.__dict__, "account_id": owner})
    upload = LinkedInAdapter()._initialize_document(to, as_document(deck), None)
    LinkedInAdapter()._put_document(to, as_document(deck), upload)
    return upload["document_urn"]


def _post_of(urn, author=AUTHOR, title="Deck") -> dict:
    return {"author": author, "commentary": "A deck", "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
            "distribution": {"feedDistribution": "MAIN_FEED"}, "content": {"media": {"id": urn, "title": title}}}


def test_the_sandbox_refuses_a_post_of_a_document_not_available_or_of_another_owner(sandbox, deck):
    configure(sandbox, {"linkedin": {"video_processing_s": 600}})
    processing = _uploaded(sandbox, deck)
    answer = _post(sandbox, _post_of(processing))
    assert answer.status_code == 422 and "is not AVAILABLE (its status is PROCESSING)" in answer.json()["message"]
    configure(sandbox, {"linkedin": {"video_processing_s": 0}})
    someone_elses = _uploaded(sandbox, deck, owner="urn:li:organization:999")
    answer = _post(sandbox, _post_of(someone_elses))
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID_CONTENT_OWNERSHIP"
    answer = _post(sandbox, _post_of(processing, title=""))
    assert answer.status_code == 422 and "title" in answer.json()["message"]
    assert received(sandbox, "linkedin") == []
