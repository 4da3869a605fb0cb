"""The Facebook adapter against the sandbox: feed and photo posts, and finding an earlier attempt's post in the Page feed."""
import datetime

import pytest

from socialpub.networks import Content, ErrorKind, PublishError, get_adapter

from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import (
    ACCOUNTS,
    all_requests,
    configure,
    image_url,
    publish_error,
    received,
    target,
    utcnow,
)


def test_facebook_text_post_goes_to_the_feed_with_its_link(sandbox):
    content = Content("Spring sale starts today", link="https://shop.example.com/sale")
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content)
    assert published.external_id.startswith(ACCOUNTS["facebook"] + "_")
    assert published.url == f"https://www.facebook.com/{published.external_id}"
    [item] = received(sandbox)
    assert (item["item_id"], item["text"], item["link"], item["image"]) == \
        (published.external_id, "Spring sale starts today", "https://shop.example.com/sale", None)


def test_facebook_image_post_goes_to_photos_with_the_link_in_the_caption(sandbox):
    content = Content("New menu", image_url=image_url(sandbox), link="https://cafe.example.com")
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content)
    [item] = received(sandbox)
    assert item["item_id"] == published.external_id  # the post id, not the photo id
    assert item["text"] == "New menu\n\nhttps://cafe.example.com"
    assert item["image"] == image_url(sandbox)
    assert all_requests(sandbox)[0]["path"].endswith("/photos")


def test_facebook_token_error_is_classified_as_auth(sandbox):
    error = publish_error(sandbox, "facebook", token="invalid-token")
    assert (error.kind, error.code, error.subcode) == (ErrorKind.AUTH, "190", "467")
    assert error.message == "Invalid OAuth access token - Cannot parse access token"


FB_CONTENTS = {"text": lambda sandbox: Content("Found again", link="https://shop.example.com"),
               "photo": lambda sandbox: Content("Found again", image_url=image_url(sandbox),
                                                link="https://shop.example.com")}


@pytest.mark.parametrize("kind", FB_CONTENTS)
def test_facebook_find_published_finds_a_post_made_since_the_attempt_began(sandbox, kind):
    adapter, to, content = get_adapter("facebook"), target(sandbox, "facebook"), FB_CONTENTS[kind](sandbox)
    since = utcnow()
    published = adapter.publish(to, content)
    assert adapter.find_published(to, content, since) == published
    assert adapter.find_published(to, Content("Other words", image_url=content.image_url), since) is None


@pytest.mark.parametrize("kind", FB_CONTENTS)
def test_facebook_find_published_ignores_a_post_made_before_the_attempt_began(sandbox, kind):
    adapter, to, content = get_adapter("facebook"), target(sandbox, "facebook"), FB_CONTENTS[kind](sandbox)
    adapter.publish(to, content)
    later = utcnow() + datetime.timedelta(seconds=2 * adapter.clock_skew)
    assert adapter.find_published(to, content, later) is None


def test_facebook_find_published_finds_a_post_whose_answer_was_lost(sandbox):
    adapter, to, content = get_adapter("facebook"), target(sandbox, "facebook"), Content("Lost answer")
    configure(sandbox, {"facebook": {"fail": {"error": "drop_after_record"}}})
    since = utcnow()
    with pytest.raises(PublishError):
        adapter.publish(to, content)
    [item] = received(sandbox)
    assert adapter.find_published(to, content, since).external_id == item["item_id"]


def test_facebook_find_published_follows_the_feeds_next_pages(sandbox):
    adapter, to, since = get_adapter("facebook"), target(sandbox, "facebook"), utcnow()
    published = adapter.publish(to, Content("Buried"))
    for n in range(30):
        adapter.publish(to, Content(f"Newer {n}"))
    assert adapter.find_published(to, Content("Buried"), since) == published
