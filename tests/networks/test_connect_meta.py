"""Connect Facebook Pages and Instagram accounts with a click, against the
sandbox's Meta: Facebook Login (Pages of the person and of their Business
portfolio, and the Instagram accounts linked to them) and Instagram Login —
the dialogs over real HTTP, the code exchanged by the app, the long-lived
tokens, the permissions checked, and every way it can go wrong a clear page
that connects nothing. Reconnecting keeps the channel; Graph calls carry
appsecret_proof (the sandbox's Facebook app requires it)."""
import datetime as dt
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from socialpub import db
from socialpub.connecting import refresh
from socialpub.models import Channel, ChannelState, Post, Publication, utcnow
from socialpub.sandbox.meta_apps import FACEBOOK_APP, INSTAGRAM_APP, LOGIN_CONFIG

from tests.support.web_helpers import page
from tests.networks.test_connect_linkedin import channels, follow, publish_after_expiry

DEMO_PAGE, BAKERY, HOTEL, CAFE = "546349135390552", "546349135390553", "546349135390554", "546349135390555"
DEMO_IG, HOTEL_IG, PERSONAL_IG = "17841405822304914", "17841400000000077", "17841400000000099"


def with_sandbox_meta(settings, sandbox):
    """``settings`` whose Facebook and Instagram apps are the sandbox's, as ``socialpub up`` sets them."""
    return settings.with_(facebook_app_id=FACEBOOK_APP[0], facebook_app_secret=FACEBOOK_APP[1],
                          facebook_dialog_url=sandbox.url, facebook_graph_url=sandbox.url,
                          instagram_app_id=INSTAGRAM_APP[0], instagram_app_secret=INSTAGRAM_APP[1],
                          instagram_dialog_url=sandbox.url, instagram_token_url=sandbox.url,
                          instagram_graph_url=sandbox.url)


@pytest.fixture
def settings(settings, sandbox):
    return with_sandbox_meta(settings, sandbox)


def start(client, path):
    """Click a Connect button: the app's redirect to the dialog, and the dialog's form."""
    response = client.get(path)
    assert response.status_code == 302, page(response)
    dialog = requests.get(response.headers["Location"], timeout=5)
    assert dialog.status_code == 200, dialog.text
    fields = {k: html.unescape(v) for k, v in
              re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', dialog.text)}
    boxes = {name: re.findall(rf'name="{name}" value="([\w.]+)"', dialog.text) for name in ("scope", "page", "account")}
    action = re.search(r'<form method="post" action="([^"]+)"', dialog.text).group(1)
    return fields, boxes, action, response.headers["Location"]


def decide(sandbox, action, fields, decision="allow", **choices):
    back = requests.post(f"{sandbox.url}{action}", data={**fields, **choices, "decision": decision},
                         allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    return back.headers["Location"]


def connect_facebook(client, sandbox, choice="pages", decision="allow", withhold=(), pages=None):
    fields, boxes, action, _ = start(client, f"/channels/connect/facebook?as={choice}")
    back = decide(sandbox, action, fields, decision, scope=[s for s in boxes["scope"] if s not in withhold],
                  page=boxes["page"] if pages is None else pages)
    return follow(client, back)


def connect_instagram(client, sandbox, account=DEMO_IG, decision="allow", withhold=()):
    fields, boxes, action, _ = start(client, "/channels/connect/instagram")
    back = decide(sandbox, action, fields, decision, scope=[s for s in boxes["scope"] if s not in withhold],
                  account=account)
    return follow(client, back)


def choose(client, chooser, network, ticked):
    key = re.search(r'name="key" value="([^"]+)"', page(chooser)).group(1)
    return client.post(f"/channels/connect/{network}/choose", data={"key": key, "account": ticked})


def offered(chooser) -> list:
    return re.findall(r'name="account" value="(\d+)"', page(chooser))


# -- Facebook Pages --------------------------------------------------------------------------


def test_the_facebook_dialog_asks_for_the_page_permissions_or_the_login_for_business_configuration(
        app, form_client, sandbox):
    _, boxes, _, url = start(form_client, "/channels/connect/facebook?as=pages")
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/v24.0/dialog/oauth"
    assert query["client_id"] == [FACEBOOK_APP[0]] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://localhost/channels/connect/facebook/callback"]
    assert query["scope"] == ["pages_show_list,pages_read_engagement,pages_manage_posts,pages_manage_engagement,"
                              "read_insights,business_management"]
    assert boxes["page"] == [DEMO_PAGE, BAKERY, HOTEL, CAFE]
    app.extensions["socialpub"] = app.extensions["socialpub"].with_(facebook_config_id=LOGIN_CONFIG[0])
    _, boxes, _, url = start(form_client, "/channels/connect/facebook?as=pages")
    query = parse_qs(urlsplit(url).query)
    assert query["config_id"] == [LOGIN_CONFIG[0]] and "scope" not in query
    assert boxes["scope"] == list(LOGIN_CONFIG[1])


def test_connecting_pages_offers_own_and_business_portfolio_pages_and_stores_page_tokens(
        form_client, sandbox, sandbox_client, drain):
    chooser = connect_facebook(form_client, sandbox)
    assert chooser.status_code == 200, page(chooser)
    text = html.unescape(page(chooser))
    assert offered(chooser) == [DEMO_PAGE, BAKERY, HOTEL]
    assert "Business portfolio “Sandbox Holdings”" in text  # the Hotel: only reachable through the portfolio
    assert "“Client Café” (Business portfolio “Sandbox Holdings”): Facebook gave no Page token" in text
    assert choose(form_client, chooser, "facebook", [DEMO_PAGE, HOTEL]).status_code == 302
    stored = channels()
    assert [(c.network, c.account_id, c.name) for c in stored] == [
        ("facebook", DEMO_PAGE, "Sandbox Page"), ("facebook", HOTEL, "Sandbox Hotel")]
    for channel in stored:
        assert channel.token.startswith("EAAP")  # the Page's token, not the person's
        assert channel.token_expires_at is None and channel.connected_via == "facebook"
        assert "pages_manage_posts" in channel.scopes and channel.picture_url
    assert "Token does not expire" in page(form_client.get("/channels"))
    # It publishes, every Graph call with its appsecret_proof (the sandbox refuses it otherwise).
    post = form_client.post("/api/posts", json={"text": "Connected by a click", "channels": [stored[1].id],
                                                "publish": True})
    assert post.status_code == 201, post.get_json()
    drain()
    with db.database.connection_context():
        assert Publication.get(Publication.channel == stored[1].id).status == "published"
    assert [r["account_id"] for r in sandbox_client.received("facebook")] == [HOTEL]


def test_a_declined_page_permission_is_named_with_what_it_is_for_and_nothing_is_stored(form_client, sandbox):
    response = connect_facebook(form_client, sandbox, withhold=("pages_manage_posts",))
    assert response.status_code == 400
    assert "pages_manage_posts (to publish posts on your Pages)" in html.unescape(page(response))
    assert channels() == []


def test_without_business_management_only_the_persons_own_pages_are_offered(form_client, sandbox):
    chooser = connect_facebook(form_client, sandbox, withhold=("business_management",))
    assert offered(chooser) == [DEMO_PAGE, BAKERY]


def test_only_the_pages_shared_in_the_dialog_are_offered(form_client, sandbox):
    chooser = connect_facebook(form_client, sandbox, pages=[BAKERY])
    assert offered(chooser) == [BAKERY]


def test_cancelling_on_facebook_connects_nothing(form_client, sandbox):
    response = connect_facebook(form_client, sandbox, decision="cancel")
    assert response.status_code == 200
    assert "You cancelled on Facebook; nothing was connected." in page(response)
    assert channels() == []


def test_a_replayed_or_tampered_facebook_answer_is_refused(form_client, sandbox):
    fields, boxes, action, _ = start(form_client, "/channels/connect/facebook?as=pages")
    back = decide(sandbox, action, fields, scope=boxes["scope"], page=boxes["page"])
    assert follow(form_client, back).status_code == 200
    replay = follow(form_client, back)
    assert replay.status_code == 400 and "already used" in page(replay)
    fields, boxes, action, _ = start(form_client, "/channels/connect/facebook?as=pages")
    forged = decide(sandbox, action, fields, scope=boxes["scope"], page=boxes["page"]).replace(
        f"state={fields['state']}", "state=forged")
    assert "does not belong to a connection started here" in page(follow(form_client, forged))
    assert channels() == []


def test_a_facebook_code_used_twice_is_refused_in_facebooks_words(form_client, sandbox):
    fields, boxes, action, _ = start(form_client, "/channels/connect/facebook?as=pages")
    first = decide(sandbox, action, fields, scope=boxes["scope"], page=boxes["page"])
    assert follow(form_client, first).status_code == 200
    fresh, _, _, _ = start(form_client, "/channels/connect/facebook?as=pages")
    response = follow(form_client, first.replace(f"state={fields['state']}", f"state={fresh['state']}"))
    assert response.status_code == 400
    assert "Facebook refused the code: This authorization code has been used." in html.unescape(page(response))
    assert channels() == []


def test_reconnecting_a_page_keeps_the_channel_and_its_history(form_client, sandbox, sandbox_channels):
    seeded = sandbox_channels["facebook"]  # the demo's Page, with a pasted token
    with db.database.connection_context():
        Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason="(#190) password changed").where(
            Channel.id == seeded).execute()
    post = form_client.post("/api/posts", json={"text": "Before reconnecting", "channels": [seeded]})
    assert post.status_code == 201
    chooser = connect_facebook(form_client, sandbox)
    choose(form_client, chooser, "facebook", [DEMO_PAGE])
    with db.database.connection_context():
        channel = Channel.get_by_id(seeded)
        assert channel.state == ChannelState.ACTIVE and channel.token.startswith("EAAP")
        assert channel.connected_via == "facebook"
        assert Channel.select().where(Channel.network == "facebook").count() == 1
        assert Publication.get(Publication.post == post.get_json()["id"]).channel_id == seeded
        assert Post.select().count() == 1


def test_a_page_token_the_network_expired_puts_the_channel_in_needs_reauth(
        form_client, sandbox, sandbox_client, drain):
    choose(form_client, connect_facebook(form_client, sandbox), "facebook", [BAKERY])
    channel = publish_after_expiry(form_client, sandbox, drain)
    assert channel.state == ChannelState.NEEDS_REAUTH and "Session has expired" in channel.state_reason
    assert sandbox_client.received("facebook") == []


def test_graph_refuses_the_facebook_apps_tokens_without_a_valid_appsecret_proof(form_client, sandbox):
    choose(form_client, connect_facebook(form_client, sandbox), "facebook", [BAKERY])
    [channel] = channels()
    url = f"{sandbox.url}/v24.0/{BAKERY}/feed"
    missing = requests.post(url, data={"message": "hi", "access_token": channel.token}, timeout=5)
    assert missing.status_code == 400 and "require an appsecret_proof" in missing.json()["error"]["message"]
    wrong = requests.post(url, data={"message": "hi", "access_token": channel.token, "appsecret_proof": "00"},
                          timeout=5)
    assert wrong.json()["error"]["message"] == "Invalid appsecret_proof provided in the API argument"


# -- Instagram through Facebook Login -------------------------------------------------------


def test_instagram_through_facebook_offers_the_accounts_linked_to_the_pages(form_client, sandbox, sandbox_client,
                                                                            drain):
    chooser = connect_facebook(form_client, sandbox, choice="instagram")
    assert offered(chooser) == [DEMO_IG, HOTEL_IG]
    text = html.unescape(page(chooser))
    assert "@sandbox_ig · through the Page “Sandbox Page”" in text
    assert "“Sandbox Bakery” has no Instagram professional account linked" in text
    choose(form_client, chooser, "facebook", [HOTEL_IG])
    [channel] = channels()
    assert (channel.network, channel.account_id, channel.name) == ("instagram", HOTEL_IG, "Sandbox Hotel")
    assert channel.connected_via == "facebook" and channel.token.startswith("EAAP")
    post = form_client.post("/api/posts", json={"text": "On Instagram", "channels": [channel.id], "publish": True,
                                                "image_url": f"{sandbox.url}/_sandbox/image.jpg"})
    assert post.status_code == 201, post.get_json()
    drain()
    assert [r["account_id"] for r in sandbox_client.received("instagram")] == [HOTEL_IG]


def test_instagram_through_facebook_without_its_permissions_names_them(form_client, sandbox):
    response = connect_facebook(form_client, sandbox, choice="instagram", withhold=("instagram_content_publish",))
    assert response.status_code == 400
    assert "instagram_content_publish (to publish posts on the Instagram account)" in html.unescape(page(response))


# -- Instagram Login ------------------------------------------------------------------------


def test_instagram_login_connects_a_professional_account_with_a_60_day_token(
        form_client, sandbox, sandbox_client, drain):
    _, boxes, _, url = start(form_client, "/channels/connect/instagram")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["instagram_business_basic,instagram_business_content_publish,"
                              "instagram_business_manage_comments,instagram_business_manage_insights"]
    assert query["redirect_uri"] == ["http://localhost/channels/connect/instagram/callback"]
    response = connect_instagram(form_client, sandbox)
    assert response.status_code == 302, page(response)
    [channel] = channels()
    assert (channel.network, channel.account_id, channel.name) == ("instagram", DEMO_IG, "Sandbox Instagram")
    assert channel.connected_via == "instagram" and channel.token.startswith("IGQL")  # the long-lived one
    assert channel.base_url == f"{sandbox.url}/v24.0" and channel.detail == "@sandbox_ig"
    assert abs(channel.token_expires_at - (utcnow() + dt.timedelta(days=60))) < dt.timedelta(minutes=1)
    assert not refresh.expiring_soon(channel, utcnow() + dt.timedelta(days=55))  # it renews itself
    post = form_client.post("/api/posts", json={"text": "Via Instagram Login", "channels": [channel.id],
                                                "publish": True, "image_url": f"{sandbox.url}/_sandbox/image.jpg"})
    assert post.status_code == 201
    drain()
    assert [r["account_id"] for r in sandbox_client.received("instagram")] == [DEMO_IG]


def test_a_personal_instagram_account_is_told_how_to_become_professional(form_client, sandbox):
    response = connect_instagram(form_client, sandbox, account=PERSONAL_IG)
    assert response.status_code == 200
    text = html.unescape(page(response))
    assert "@sandra.box is a personal Instagram account" in text and "Switch to professional account" in text
    assert channels() == []


def test_instagram_login_without_the_publish_permission_names_it(form_client, sandbox):
    response = connect_instagram(form_client, sandbox, withhold=("instagram_business_content_publish",))
    assert response.status_code == 400
    assert "instagram_business_content_publish (to publish posts on the account)" in html.unescape(page(response))
    assert channels() == []


def test_an_instagram_code_used_twice_is_refused_in_instagrams_words(form_client, sandbox):
    fields, boxes, action, _ = start(form_client, "/channels/connect/instagram")
    first = decide(sandbox, action, fields, scope=boxes["scope"], account=DEMO_IG)
    assert follow(form_client, first).status_code == 302
    fresh, _, _, _ = start(form_client, "/channels/connect/instagram")
    response = follow(form_client, first.replace(f"state={fields['state']}", f"state={fresh['state']}"))
    assert response.status_code == 400
    assert "Instagram refused the code: This authorization code has been used" in html.unescape(page(response))
    assert len(channels()) == 1


def test_an_instagram_login_token_is_refreshed_once_before_it_expires(app, form_client, sandbox, settings):
    connect_instagram(form_client, sandbox)
    [before] = channels()
    # 54 days pass: the token expires in 6 days, and is old enough for Instagram to renew it.
    requests.post(f"{sandbox.url}/_sandbox/tokens/age", json={"seconds": 54 * 86400}, timeout=5).raise_for_status()
    later = utcnow() + dt.timedelta(days=54)
    with db.database.connection_context():
        assert refresh.refresh_due(settings, later) == {"refreshed": 1, "failed": 0, "left": 0}
        # The next run (at the real "now" again): a 60-day token, nothing to do.
        assert refresh.refresh_due(settings) == {"refreshed": 0, "failed": 0, "left": 0}
    [after] = channels()
    assert after.token != before.token and after.state == ChannelState.ACTIVE
    assert abs(after.token_expires_at - (utcnow() + dt.timedelta(days=60))) < dt.timedelta(minutes=1)


def test_an_instagram_login_token_instagram_will_not_renew_ends_in_needs_reauth(form_client, sandbox, settings):
    connect_instagram(form_client, sandbox)
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", timeout=5).raise_for_status()
    with db.database.connection_context():
        counts = refresh.refresh_due(settings, utcnow() + dt.timedelta(days=55))
    assert counts == {"refreshed": 0, "failed": 1, "left": 0}
    [channel] = channels()
    assert channel.state == ChannelState.NEEDS_REAUTH and "reconnect it" in channel.state_reason


# -- WhatsApp -------------------------------------------------------------------------------


def test_a_whatsapp_number_is_verified_and_shows_its_name_number_and_quality(form_client, sandbox):
    form = page(form_client.get("/channels/new?network=whatsapp"))
    assert '<option value="whatsapp" selected>' in form
    response = form_client.post("/channels/new", data={
        "network": "whatsapp", "account_id": "106540352242999", "token": "a-system-user-token",
        "base_url": f"{sandbox.url}/v24.0", "recipients": "+16505551234", "enabled": "1"},
        follow_redirects=True)
    text = html.unescape(page(response))
    assert "Channel “Sandbox WhatsApp (+1 650-555-0100)” added (quality rating GREEN)" in text
    [channel] = channels()
    assert channel.detail == "quality rating GREEN"
    refused = form_client.post("/channels/new", data={
        "network": "whatsapp", "account_id": "106540352242998", "token": "invalid-token",
        "base_url": f"{sandbox.url}/v24.0", "recipients": "+16505551234"})
    assert refused.status_code == 422 and "WhatsApp refused it" in html.unescape(page(refused))
    assert len(channels()) == 1


# -- make run --------------------------------------------------------------------------------


def test_make_run_points_each_unconfigured_app_at_the_sandbox_and_keeps_real_ones(tmp_path):
    from socialpub.commands.cli import sandbox_apps
    from socialpub.config import Settings

    sandbox_url = "http://127.0.0.1:8001"
    env = {"SOCIALPUB_INSTANCE": str(tmp_path), **sandbox_apps(Settings(), sandbox_url)}
    settings = Settings.from_env(env)
    assert (settings.facebook_app_id, settings.facebook_graph_url) == (FACEBOOK_APP[0], sandbox_url)
    assert (settings.instagram_app_id, settings.instagram_token_url) == (INSTAGRAM_APP[0], sandbox_url)
    assert settings.linkedin_oauth_url == f"{sandbox_url}/oauth/v2"
    real = Settings(facebook_app_id="123", facebook_app_secret="real-secret")
    assert "SOCIALPUB_FACEBOOK_APP_ID" not in sandbox_apps(real, sandbox_url)
    assert "real-secret" not in repr(real)
