"""Read-back: "published" confirmed by reading each item back from its network
by its id — confirmed with its permalink when the network shows it, flagged
(never sent again) when it does not."""
import datetime as dt

from socialpub import db
from socialpub.lifecycle import read_back
from socialpub.models import Publication, utcnow


def test_published_items_are_read_back_and_confirmed_with_their_permalinks(
        client, publish_and_drain, sandbox_channels, settings):
    post_id = publish_and_drain(networks=["facebook", "instagram", "linkedin"])
    with db.database.connection_context():
        assert read_back.run(settings) == 3
        assert read_back.run(settings) == 0  # each is read back once
    publications = {p["network"]: p for p in client.get(f"/api/posts/{post_id}").get_json()["publications"]}
    for network, publication in publications.items():
        assert publication["confirmed_at"] is not None, network
        assert publication["url"].startswith("https://"), publication["url"]


def test_an_item_the_network_does_not_show_is_flagged_and_never_sent_again(
        client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    post_id = publish_and_drain(networks=["facebook", "linkedin"])
    sent = len(sandbox_client.received())
    with db.database.connection_context():
        # As if each item had been taken down at the network a while after it went out.
        for publication in Publication.select().where(Publication.post == post_id):
            gone = "546349135390552_1" if publication.network == "facebook" else "urn:li:share:1"
            Publication.update(external_id=gone, published_at=utcnow() - dt.timedelta(minutes=20)).where(
                Publication.id == publication.id).execute()
        assert read_back.run(settings) == 0
        flagged = list(Publication.select().where(Publication.post == post_id))
    for publication in flagged:
        assert publication.status == "published" and publication.confirmed_at is None
        assert "does not show it when it is read back" in publication.last_error
    assert len(sandbox_client.received()) == sent  # nothing sent again
    trail = client.get(f"/api/posts/{post_id}/events").get_json()
    assert sum(1 for e in trail["items"] if e["action"] == "not found when read back") == 2


def test_an_unconfirmed_publication_is_settled_by_finding_its_item_never_by_sending_again(
        client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    post_id = publish_and_drain(networks=["facebook", "instagram"])
    sent = len(sandbox_client.received())
    with db.database.connection_context():
        # As if each attempt's answer had been lost: the network has the item, socialpub could not tell.
        items = {}
        for publication in Publication.select().where(Publication.post == post_id):
            items[publication.network] = publication.external_id
            Publication.update(status="unconfirmed", external_id=None, external_url=None, published_at=None,
                               ambiguous_since=publication.started_at - dt.timedelta(seconds=1),
                               updated_at=utcnow()).where(Publication.id == publication.id).execute()
        assert read_back.run(settings) == 2
        settled = {p.network: p for p in Publication.select().where(Publication.post == post_id)}
    for network, publication in settled.items():
        assert publication.status == "published" and publication.external_id == items[network], network
    assert len(sandbox_client.received()) == sent  # found, not sent again
    assert client.get(f"/api/posts/{post_id}").get_json()["status"] == "published"
