"""First comments: written with the post, posted under each Instagram,
Facebook and LinkedIn item once it is out, as a delivery of their own — once,
even when a try's answer was lost or its worker died (the item's comments are
read before posting again); refused before scheduling on a channel connected
without the permission to comment."""
import datetime as dt

import pytest
import requests

from socialpub import db
from socialpub.lifecycle import first_comments
from socialpub.models import Channel, FirstComment, Publication, utcnow
from socialpub.lifecycle.delivery import target_of
from socialpub.networks import get_adapter
from tests.support.processes import FAST, Reconciling, WorkerCLI, wait_for
from tests.worker.test_faults import held

NETWORKS = ["instagram", "facebook", "linkedin"]


def comments_at(sandbox) -> list:
    return requests.get(f"{sandbox.url}/_sandbox/comments", timeout=5).json()


def test_a_first_comment_goes_under_each_item_once_with_its_own_status(client, create, sandbox, sandbox_channels,
                                                                       drain):
    post_id = create(networks=NETWORKS + ["whatsapp"], first_comment="#launch #coffee",
                     versions={str(sandbox_channels["linkedin"]): {"first_comment": "More on our site"}})
    before = client.get(f"/api/posts/{post_id}").get_json()
    waiting = {p["network"]: p["first_comment"] for p in before["publications"]}
    assert waiting["whatsapp"] is None  # the post's comment is not sent to WhatsApp
    assert waiting["instagram"]["status"] == "pending" and waiting["instagram"]["next_attempt_at"] is None
    assert client.post(f"/api/posts/{post_id}/publish").status_code in (200, 202)
    drain()
    body = client.get(f"/api/posts/{post_id}").get_json()
    items = {p["network"]: p for p in body["publications"]}
    made = comments_at(sandbox)
    assert sorted((c["network"], c["item_id"], c["text"]) for c in made) == sorted([
        ("instagram", items["instagram"]["external_id"], "#launch #coffee"),
        ("facebook", items["facebook"]["external_id"], "#launch #coffee"),
        ("linkedin", items["linkedin"]["external_id"], "More on our site")])
    for network in NETWORKS:
        comment = items[network]["first_comment"]
        assert comment["status"] == "posted" and comment["attempts"] == 1, comment
        assert comment["external_id"] in {c["id"] for c in made}
    status = client.get(f"/api/posts/{post_id}/status").get_json()
    assert {p["network"]: (p["first_comment"] or {}).get("status") for p in status["publications"]} == {
        "instagram": "posted", "facebook": "posted", "linkedin": "posted", "whatsapp": None}


def test_a_try_that_may_have_posted_finds_its_comment_instead_of_posting_it_again(
        client, create, sandbox, sandbox_channels, drain, settings):
    post_id = create(networks=["facebook"], first_comment="Link in bio")
    client.post(f"/api/posts/{post_id}/publish")
    drain()
    with db.database.connection_context():
        comment = FirstComment.select().join(Publication).where(Publication.post == post_id).get()
        publication = Publication.get_by_id(comment.publication_id)
        channel = Channel.get_by_id(publication.channel_id)
        # As if a second try's worker had posted it again and died before settling it.
        get_adapter("facebook").comment(target_of(channel, channel.token), publication.external_id, "Other words")
        FirstComment.update(status="sending", touched_at=utcnow() - dt.timedelta(hours=1), external_id=None
                            ).where(FirstComment.id == comment.id).execute()
        assert first_comments.post(comment.id, settings) is None
        again = FirstComment.get_by_id(comment.id)
    assert again.status == "posted" and again.attempts == 2
    texts = [c["text"] for c in comments_at(sandbox)]
    assert texts.count("Link in bio") == 1, texts  # found and adopted, not posted twice
    assert again.external_id == next(c["id"] for c in comments_at(sandbox) if c["text"] == "Link in bio")


def test_a_channel_connected_without_the_permission_to_comment_is_refused_naming_the_field(
        client, sandbox_channels):
    with db.database.connection_context():
        Channel.update(scopes="instagram_basic instagram_content_publish").where(
            Channel.id == sandbox_channels["instagram"]).execute()
    refused = client.post("/api/posts", json={"text": "x", "networks": ["instagram"], "first_comment": "#tag",
                                              "image_url": "https://example.com/a.jpg"})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["field"] == "first_comment" and "instagram_manage_comments" in error["message"]
    own = client.post("/api/posts", json={
        "text": "x", "networks": ["whatsapp"],
        "versions": {str(sandbox_channels["whatsapp"]): {"first_comment": "hi"}}})
    assert own.status_code == 422 and own.get_json()["error"]["field"] == \
        f"versions.{sandbox_channels['whatsapp']}.first_comment"
    too_long = client.post("/api/posts", json={"text": "x", "networks": ["linkedin"], "first_comment": "a" * 1300})
    assert too_long.status_code == 422 and "1250" in too_long.get_json()["error"]["message"]
    with db.database.connection_context():
        assert not FirstComment.select().exists()


def test_an_edit_keeps_changes_and_removes_the_first_comment(client, create, sandbox_channels):
    post_id = create(networks=["facebook", "linkedin"], first_comment="one")
    edited = client.patch(f"/api/posts/{post_id}", json={"first_comment": "two"}).get_json()
    assert {p["first_comment"]["text"] for p in edited["publications"]} == {"two"}
    kept = client.patch(f"/api/posts/{post_id}", json={"text": "new text"}).get_json()
    assert {p["first_comment"]["text"] for p in kept["publications"]} == {"two"}
    removed = client.patch(f"/api/posts/{post_id}", json={"first_comment": None}).get_json()
    assert [p["first_comment"] for p in removed["publications"]] == [None, None]



@pytest.mark.settings(**FAST)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("network", NETWORKS)
def test_killing_a_worker_while_its_first_comment_is_on_its_way_posts_the_comment_once(
        client, create, sandbox, sandbox_client, sandbox_channels, settings, tmp_path, network):
    """kill -9 of a real worker between the parent and its comment: the comment's request
    is held at the network, the worker killed, the request let through (the network makes
    the comment, nobody hears it); the next worker finds it rather than posting it again."""
    post_id = create(networks=[network], first_comment=f"Read more, {network}")
    cli = WorkerCLI(settings, tmp_path / "worker.log")

    def settled():
        with db.database.connection_context():
            return FirstComment.select().where(FirstComment.status.in_(["posted", "failed"])).exists()
    try:
        with Reconciling(settings):
            cli.start()
            sandbox_client.configure(**{network: {"hold": {"path": "/comments"}}})
            assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
            wait_for(lambda: held(sandbox, network), 30, f"the {network} comment held at the network")
            cli.kill_worker_process()
            sandbox_client.configure(**{network: {"hold": False}})
            wait_for(lambda: len(comments_at(sandbox)) == 1, 10, "the held comment made at the network")
            cli.start()
            wait_for(settled, 60, "the first comment settled", interval=0.5)
    finally:
        cli.stop()
    with db.database.connection_context():
        comment = FirstComment.get()
        publication = Publication.get_by_id(comment.publication_id)
    assert publication.status == "published"
    [made] = comments_at(sandbox)  # once
    assert comment.status == "posted" and comment.attempts == 2 and comment.external_id == made["id"]
    assert made["item_id"] == publication.external_id and made["text"] == f"Read more, {network}"
