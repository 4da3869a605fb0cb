"""The LinkedIn adapter against the sandbox: little-text escaping, image uploads, the duplicate 422, API versions."""

import pytest

from socialpub.networks import Content, ErrorKind, PublishError, get_adapter
from socialpub.networks.base import Photo
from socialpub.networks.linkedin import escape_little
from socialpub.sandbox.image import jpeg_bytes

from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import (
    AUTHOR,
    all_requests,
    configure,
    publish_error,
    received,
    target,
    utcnow,
)


def test_linkedin_post_escapes_little_text_and_returns_the_urn(sandbox):
    text = r"Launch (beta) #news @team [v2] {x} *bold* _u_ ~s~ <tag> a\b |pipe"
    published = get_adapter("linkedin").publish(target(sandbox, "linkedin"), Content(text))
    assert published.external_id.startswith("urn:li:share:")
    assert published.url == f"https://www.linkedin.com/feed/update/{published.external_id}"
    [item] = received(sandbox)
    # The sandbox cuts at an unescaped parenthesis, so equality proves the escaping.
    assert (item["item_id"], item["account_id"], item["text"]) == (published.external_id, AUTHOR, text)


def test_linkedin_image_post_uploads_the_image_first(sandbox):
    content = Content("With picture", photos=(Photo("image/jpeg", 640, 480, jpeg_bytes()),))
    get_adapter("linkedin").publish(target(sandbox, "linkedin"), content)
    [item] = received(sandbox)
    assert item["image"].startswith("urn:li:image:")
    assert item["image_bytes"] == len(jpeg_bytes())


def test_linkedin_duplicate_422_is_a_permanent_error_naming_the_existing_post(sandbox):
    adapter, to = get_adapter("linkedin"), target(sandbox, "linkedin")
    first = adapter.publish(to, Content("Same words"))
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, Content("Same words"))
    assert caught.value.kind is ErrorKind.PERMANENT and caught.value.http_status == 422
    assert caught.value.duplicate_of == first
    assert "change the text" in caught.value.message
    assert [r["status"] for r in all_requests(sandbox)] == [201, 422]
    assert len(received(sandbox)) == 1


def test_linkedin_sends_the_targets_api_version_which_linkedin_refuses_once_retired(sandbox):
    # LinkedIn's clock at 2027-02-01: 202601 retired on 2027-01-15, 202603 served until 2027-03-16.
    configure(sandbox, {"linkedin": {"today": "2027-02-01"}})
    error = publish_error(sandbox, "linkedin", Content("v"), api_version="202601")
    assert (error.kind, error.http_status, error.code) == (ErrorKind.PERMANENT, 426, "NONEXISTENT_VERSION")
    assert "20260101 is not active" in error.message
    published = get_adapter("linkedin").publish(target(sandbox, "linkedin", api_version="202603"), Content("v"))
    assert published.external_id.startswith("urn:li:share:")


def test_linkedin_default_version_is_served_after_the_old_ones_sunset(sandbox):
    configure(sandbox, {"linkedin": {"today": "2027-02-01"}})
    published = get_adapter("linkedin").publish(target(sandbox, "linkedin"), Content("after the sunset"))
    assert published.external_id.startswith("urn:li:share:")


def test_linkedin_version_linkedin_has_not_released_is_refused_before_any_call(sandbox):
    error = publish_error(sandbox, "linkedin", Content("v"), api_version="209912")
    assert (error.kind, error.http_status, error.code) == (ErrorKind.PERMANENT, None, "version")
    assert "has no version 209912 yet" in error.message
    assert all_requests(sandbox) == []


def test_linkedin_expired_token_is_classified_as_auth(sandbox):
    error = publish_error(sandbox, "linkedin", Content("x"), token="expired-token")
    assert (error.kind, error.http_status) == (ErrorKind.AUTH, 401)


def test_escape_little_escapes_every_reserved_character_once():
    assert escape_little("()[]{}@#*_~<>|") == r"\(\)\[\]\{\}\@\#\*\_\~\<\>\|"
    assert escape_little("a\\(b") == "a\\\\\\(b"  # the backslash first, then the parenthesis


def test_escape_little_leaves_plain_text_alone():
    assert escape_little("Plain text, with punctuation: yes! 100% - ok?") == \
        "Plain text, with punctuation: yes! 100% - ok?"


def test_linkedin_find_published_leaves_the_check_to_the_duplicate_answer(sandbox):
    adapter, to = get_adapter("linkedin"), target(sandbox, "linkedin")
    published = adapter.publish(to, Content("Posted once"))
    assert adapter.find_published(to, Content("Posted once"), utcnow()) is None
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, Content("Posted once"))
    assert caught.value.duplicate_of == published
