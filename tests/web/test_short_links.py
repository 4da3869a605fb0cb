"""Links that count: a post's link published with UTM parameters, or as a
short link of this installation that counts its clicks — which join the
post's metrics — and keeps nothing about who clicked."""
import re

import pytest

from socialpub import db
from socialpub.analytics import collection
from socialpub.models import ShortLink, utcnow

LINK = "https://cafe.example.com/menu?ref=board"


@pytest.fixture
def settings(settings):
    return settings.with_(public_base_url="https://social.example.test")


def test_a_short_link_is_published_and_three_clicks_count_three_on_the_post(
        client, anon_client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    post_id = publish_and_drain(networks=["facebook", "linkedin"], text="Our spring menu", link=LINK,
                                link_tracking={"utm": True, "short": True, "campaign": "spring"})
    received = {item["network"]: item for item in sandbox_client.received()}
    short = re.search(r"https://social\.example\.test/l/([\w-]+)", received["linkedin"]["text"])
    assert short and LINK not in received["linkedin"]["text"]
    # A Page photo post carries its link in its text (a /feed post in its link field).
    assert "https://social.example.test/l/" in (received["facebook"]["link"] or received["facebook"]["text"])
    with db.database.connection_context():
        row = ShortLink.get(ShortLink.code == short.group(1))
        # Only the link and its count are kept: nobody's address, browser or cookie.
        assert set(ShortLink._meta.columns) == {"id", "code", "post_id", "channel_id", "network", "target",
                                                "clicks", "created_at"}
    assert row.target == ("https://cafe.example.com/menu?ref=board&utm_source=linkedin&utm_medium=social"
                          "&utm_campaign=spring")
    for _ in range(3):
        response = anon_client.get(f"/l/{row.code}")
        assert response.status_code == 302 and response.headers["Location"] == row.target
        assert "Set-Cookie" not in response.headers
    assert anon_client.get("/l/nosuchcode").status_code == 404
    with db.database.connection_context():
        assert ShortLink.get_by_id(row.id).clicks == 3
        collection.enrol(utcnow())
    items = {i["network"]: i for i in client.get(f"/api/posts/{post_id}/metrics").get_json()["publications"]}
    assert items["linkedin"]["link_clicks"] == 3 and items["facebook"]["link_clicks"] == 0
    page = client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert "Link clicks" in page


def test_utm_parameters_alone_keep_the_links_own_and_name_the_network(
        client, publish_and_drain, sandbox_channels, sandbox_client):
    publish_and_drain(networks=["linkedin"], text="Book a table", link="https://cafe.example.com/?utm_source=qr",
                      link_tracking={"utm": True})
    [item] = sandbox_client.received("linkedin")
    assert "https://cafe.example.com/?utm_source=qr&utm_medium=social&utm_campaign=post-" in item["text"]


@pytest.mark.parametrize("tracking, field", [
    ({"utm": "yes"}, "link_tracking.utm"), ({"short": True, "colour": 1}, "link_tracking"),
    ({"utm": True, "campaign": "<script>"}, "link_tracking.campaign")])
def test_a_bad_link_tracking_is_refused_naming_the_field(client, sandbox_channels, tracking, field):
    response = client.post("/api/posts", json={"text": "x", "link": LINK, "networks": ["linkedin"],
                                               "link_tracking": tracking})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == field
