"""Adopting an earlier attempt's item: only one that no other publication
holds, only when an earlier attempt of *this* publication may have made it,
and "unconfirmed" — never "published" — when it cannot be told apart."""
import pytest
import requests

from socialpub import db
from socialpub.models import Attempt

from tests.worker.test_delivery import publications, publish_post

TEXT = "Same words on two posts"


def published_post(publish_and_drain, network, text=TEXT):
    pub = publications(publish_and_drain(networks=[network], text=text))[network]
    assert pub.status == "published"
    return pub


def outcomes(pub_id):
    with db.database.connection_context():
        return [a.outcome for a in Attempt.select().where(Attempt.publication == pub_id)
                .order_by(Attempt.number)]


@pytest.mark.settings(read_timeout=0.5)
def test_facebook_never_adopts_another_posts_item_with_the_same_text(
        client, create, publish_and_drain, sandbox_channels, sandbox_client, drain):
    first = published_post(publish_and_drain, "facebook")
    # The second post's first call gets no answer (nothing is created), so its
    # next attempt searches the feed, where the first post's item has the same text.
    sandbox_client.configure(facebook={"fail": {"error": "hang", "seconds": 1, "times": 1}})
    second_post = create(networks=["facebook"], text=TEXT)
    publish_post(client, second_post)
    drain()
    second = publications(second_post)["facebook"]
    assert second.status == "published"
    assert second.external_id != first.external_id
    assert outcomes(second.id) == ["retrying", "published"]
    assert len(sandbox_client.received("facebook")) == 2  # the network holds one item per post


def post_to_feed_directly(sandbox, text):
    """A Page post made outside socialpub (by a person on facebook.com, say)."""
    response = requests.post(f"{sandbox.url}/v24.0/546349135390552/feed",
                             data={"message": text, "access_token": "sandbox-page-token"}, timeout=5)
    response.raise_for_status()
    return response.json()["id"]


@pytest.mark.settings(read_timeout=0.5)
def test_facebook_ends_unconfirmed_when_two_unheld_items_have_the_text(
        client, create, sandbox, sandbox_channels, sandbox_client, drain):
    # The first attempt's item is made but its answer lost; someone also posts
    # the same words on the page: which item is ours cannot be told.
    post_to_feed_directly(sandbox, TEXT)
    sandbox_client.configure(facebook={"fail": {"error": "drop_after_record", "times": 1}})
    post_id = create(networks=["facebook"], text=TEXT)
    publish_post(client, post_id)
    drain()
    pub = publications(post_id)["facebook"]
    assert pub.status == "unconfirmed" and pub.external_id is None
    assert "cannot be told" in pub.last_error
    assert len(sandbox_client.received("facebook")) == 2  # nothing sent a second time


@pytest.mark.settings(read_timeout=0.5, processing_lease_s=3, time_limit_s=1)
def test_facebook_ends_unconfirmed_while_another_publication_of_the_text_is_being_sent(
        client, create, sandbox, sandbox_channels, sandbox_client, drain):
    # An item with the text exists that no publication holds yet, and another
    # publication of the same text is mid-attempt: the item may be that one's.
    from socialpub.models import Publication, utcnow

    sandbox_client.configure(facebook={"fail": {"error": "drop_after_record", "times": 1}})
    rival_post = create(networks=["facebook"], text=TEXT)
    post_id = create(networks=["facebook"], text=TEXT)
    with db.database.connection_context():
        Publication.update(status="processing", started_at=utcnow()).where(
            Publication.post == rival_post).execute()
    publish_post(client, post_id)
    drain()
    pub = publications(post_id)["facebook"]
    assert pub.status == "unconfirmed" and "another publication" in pub.last_error
    assert len(sandbox_client.received("facebook")) == 1


def test_linkedin_refuses_a_second_post_with_the_same_words_instead_of_adopting_the_first(
        client, create, publish_and_drain, sandbox_channels, sandbox_client, drain):
    first = published_post(publish_and_drain, "linkedin")
    second_post = create(networks=["linkedin"], text=TEXT)
    publish_post(client, second_post)
    drain()
    second = publications(second_post)["linkedin"]
    assert second.status == "failed" and second.external_id is None
    assert first.external_id in second.last_error and "change the text" in second.last_error
    assert len(sandbox_client.received("linkedin")) == 1


def test_linkedin_adopts_the_duplicate_its_own_lost_attempt_made(
        client, create, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(linkedin={"fail": {"error": "drop_after_record", "times": 1}})
    post_id = create(networks=["linkedin"], text=TEXT)
    publish_post(client, post_id)
    drain()
    pub = publications(post_id)["linkedin"]
    assert pub.status == "published"
    assert outcomes(pub.id) == ["retrying", "adopted"]
    [item] = sandbox_client.received("linkedin")
    assert pub.external_id == item["item_id"]
