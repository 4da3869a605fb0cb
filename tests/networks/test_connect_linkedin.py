"""Connect LinkedIn with a click, against the sandbox's LinkedIn: its consent
dialog over real HTTP, the code exchanged by the app, the member or the pages
they administer stored as channels — and every way it can go wrong (cancel,
a permission withheld, a replayed or tampered state, a code used twice) a
clear page that connects nothing. Reconnecting keeps the channel."""
import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from socialpub import db
from socialpub.models import Channel, ChannelState, Post, Publication, utcnow
from socialpub.sandbox.oauth import LINKEDIN_APP

from tests.support.web_helpers import page

MEMBER_URN = "urn:li:person:782bbtaQ"


def with_sandbox_linkedin(settings, sandbox):
    """``settings`` whose LinkedIn app is the sandbox's, as ``socialpub up`` sets it."""
    return settings.with_(linkedin_client_id=LINKEDIN_APP[0], linkedin_client_secret=LINKEDIN_APP[1],
                          linkedin_oauth_url=f"{sandbox.url}/oauth/v2", linkedin_api_url=sandbox.url)


@pytest.fixture
def settings(settings, sandbox):
    return with_sandbox_linkedin(settings, sandbox)


def start(client, choice):
    """Click "Connect LinkedIn …": the app's redirect to LinkedIn's dialog, and the dialog."""
    response = client.get(f"/channels/connect/linkedin?as={choice}")
    assert response.status_code == 302, page(response)
    dialog = requests.get(response.headers["Location"], timeout=5)
    assert dialog.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', dialog.text))
    scopes = re.findall(r'name="scope" value="(\w+)"', dialog.text)
    return {k: html.unescape(v) for k, v in fields.items()}, scopes, response.headers["Location"]


def decide(sandbox, fields, scopes, decision="allow"):
    """The person's click on LinkedIn: where LinkedIn sends the browser back to."""
    back = requests.post(f"{sandbox.url}/oauth/v2/authorization/decision",
                         data={**fields, "scope": scopes, "decision": decision}, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    return back.headers["Location"]


def follow(client, url):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def connect(client, sandbox, choice, decision="allow", withhold=()):
    fields, scopes, _ = start(client, choice)
    return follow(client, decide(sandbox, fields, [s for s in scopes if s not in withhold], decision))


def channels():
    with db.database.connection_context():
        return list(Channel.select().order_by(Channel.id))


def test_the_dialog_asks_only_for_what_the_choice_needs(form_client, sandbox):
    _, member_scopes, url = start(form_client, "member")
    assert member_scopes == ["openid", "profile", "w_member_social", "r_member_postAnalytics"]
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"] and query["client_id"] == [LINKEDIN_APP[0]]
    assert query["redirect_uri"] == ["http://localhost/channels/connect/linkedin/callback"]
    assert len(query["state"][0]) >= 20
    _, page_scopes, _ = start(form_client, "organization")
    assert page_scopes == ["openid", "profile", "r_organization_admin", "w_organization_social",
                           "rw_organization_admin"]


def test_connecting_a_profile_stores_a_channel_with_its_name_expiry_and_refresh_token(
        form_client, sandbox, sandbox_client, drain):
    response = connect(form_client, sandbox, "member")
    assert response.status_code == 302 and response.headers["Location"].endswith("/channels")
    [channel] = channels()
    assert (channel.network, channel.account_id, channel.name) == ("linkedin", MEMBER_URN, "Sandra Box")
    assert channel.state == ChannelState.ACTIVE and channel.token.startswith("AQV")
    assert channel.refresh_token.startswith("AQX")  # stored encrypted, read back
    assert abs(channel.token_expires_at - (utcnow() + dt.timedelta(days=60))) < dt.timedelta(minutes=1)
    assert channel.scopes == "openid profile w_member_social r_member_postAnalytics"
    html_page = page(form_client.get("/channels"))
    assert "Sandra Box" in html_page and "Token expires" in html_page
    assert channel.token not in html_page and channel.refresh_token not in html_page
    # It publishes.
    post = form_client.post("/api/posts", json={"text": "Connected by a click", "channels": [channel.id],
                                                "publish": True})
    assert post.status_code == 201, post.get_json()
    drain()
    with db.database.connection_context():
        assert Publication.get(Publication.channel == channel.id).status == "published"
    assert [r["account_id"] for r in sandbox_client.received("linkedin")] == [MEMBER_URN]


def test_connecting_pages_lists_those_administered_and_connects_the_ticked_ones(form_client, sandbox):
    chooser = connect(form_client, sandbox, "organization")
    assert chooser.status_code == 200
    html_page = page(chooser)
    assert "Sandbox Co" in html_page and "Sandbox Labs" in html_page
    key = re.search(r'name="key" value="([^"]+)"', html_page).group(1)
    response = form_client.post("/channels/connect/linkedin/choose",
                                data={"key": key, "account": ["urn:li:organization:2414183"]})
    assert response.status_code == 302
    assert [(c.account_id, c.name) for c in channels()] == [("urn:li:organization:2414183", "Sandbox Labs")]
    # The choice is used once.
    again = form_client.post("/channels/connect/linkedin/choose",
                             data={"key": key, "account": ["urn:li:organization:5515715"]})
    assert again.status_code == 400 and len(channels()) == 1


def test_reconnecting_keeps_the_channel_its_history_and_a_refresh_token_the_new_grant_lacks(
        form_client, sandbox, sandbox_client, sandbox_channels):
    seeded = sandbox_channels["linkedin"]  # urn:li:organization:5515715, a pasted token
    with db.database.connection_context():
        Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason="token expired").where(
            Channel.id == seeded).execute()
    post = form_client.post("/api/posts", json={"text": "Before reconnecting", "channels": [seeded]})
    assert post.status_code == 201

    def connect_sandbox_co():
        chooser = page(connect(form_client, sandbox, "organization"))
        key = re.search(r'name="key" value="([^"]+)"', chooser).group(1)
        form_client.post("/channels/connect/linkedin/choose", data={"key": key, "account": ["urn:li:organization:5515715"]})
        with db.database.connection_context():
            return Channel.get_by_id(seeded)

    first = connect_sandbox_co()
    assert first.state == ChannelState.ACTIVE and first.name == "Sandbox Co" and first.refresh_token
    sandbox_client.configure(linkedin={"refresh_tokens": False})
    second = connect_sandbox_co()
    assert second.token != first.token
    assert second.refresh_token == first.refresh_token  # kept: the new grant had none
    with db.database.connection_context():
        assert Channel.select().where(Channel.network == "linkedin").count() == 1
        assert Publication.get(Publication.post == post.get_json()["id"]).channel_id == seeded
        assert Post.select().count() == 1


def test_cancelling_on_linkedin_connects_nothing(form_client, sandbox):
    response = connect(form_client, sandbox, "member", decision="cancel")
    assert response.status_code == 200
    assert "You cancelled on LinkedIn; nothing was connected." in page(response)
    assert channels() == []


def test_a_permission_withheld_is_named_with_what_it_is_for_and_nothing_is_stored(form_client, sandbox):
    response = connect(form_client, sandbox, "member", withhold=("w_member_social",))
    assert response.status_code == 400
    assert "w_member_social (to publish posts on your profile)" in html.unescape(page(response))
    assert channels() == []


def test_a_replayed_answer_is_refused_and_connects_nothing_more(form_client, sandbox):
    fields, scopes, _ = start(form_client, "member")
    back = decide(sandbox, fields, scopes)
    assert follow(form_client, back).status_code == 302
    replay = follow(form_client, back)
    assert replay.status_code == 400 and "already used" in page(replay)
    assert len(channels()) == 1


def test_a_tampered_state_is_refused(form_client, sandbox):
    fields, scopes, _ = start(form_client, "member")
    back = decide(sandbox, fields, scopes).replace(f"state={fields['state']}", "state=forged")
    response = follow(form_client, back)
    assert response.status_code == 400 and "does not belong to a connection started here" in page(response)
    assert channels() == []


def test_a_code_used_twice_is_refused_in_linkedins_words(form_client, sandbox):
    fields, scopes, _ = start(form_client, "member")
    first = decide(sandbox, fields, scopes)
    assert follow(form_client, first).status_code == 302
    # A new connection's state, with the first connection's code: LinkedIn takes a code once.
    fresh, _, _ = start(form_client, "member")
    reused = first.replace(f"state={fields['state']}", f"state={fresh['state']}")
    response = follow(form_client, reused)
    assert response.status_code == 400
    assert "LinkedIn refused the code: Unable to retrieve access token" in html.unescape(page(response))
    assert len(channels()) == 1


def publish_after_expiry(form_client, sandbox, drain) -> Channel:
    """Expire every token the sandbox issued, publish to the one connected channel;
    return that channel as it is afterwards."""
    [channel] = channels()
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", timeout=5).raise_for_status()
    post = form_client.post("/api/posts", json={"text": "After expiry", "channels": [channel.id], "publish": True})
    assert post.status_code == 201
    drain()
    [channel] = channels()
    return channel


def test_a_connected_token_the_network_expired_puts_the_channel_in_needs_reauth(
        form_client, sandbox, sandbox_client, drain):
    connect(form_client, sandbox, "member")
    channel = publish_after_expiry(form_client, sandbox, drain)
    assert channel.state == ChannelState.NEEDS_REAUTH and "expired" in channel.state_reason
    assert sandbox_client.received("linkedin") == []


def test_a_token_endpoint_that_does_not_answer_is_a_clear_page(app, form_client, sandbox):
    from tests.worker.test_queue_down import closed_port

    fields, scopes, _ = start(form_client, "member")
    back = decide(sandbox, fields, scopes)
    # LinkedIn's token endpoint is down when the browser comes back.
    app.extensions["socialpub.oauth"].linkedin.access_token_url = f"http://127.0.0.1:{closed_port()}/accessToken"
    response = follow(form_client, back)
    assert response.status_code == 502 and "did not answer" in page(response)
    assert channels() == []
