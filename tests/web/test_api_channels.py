"""The channels API: connecting accounts, with tokens never shown back."""
import pytest

from socialpub import db
from socialpub.models import Channel


def test_a_channel_is_created_and_its_token_is_never_shown(client, sandbox):
    response = client.post("/api/channels", json={
        "network": "facebook", "name": "Our page", "account_id": "1234567890", "token": "EAAG-secret",
        "base_url": f"{sandbox.url}/v24.0"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token_set"] is True
    assert "EAAG-secret" not in response.get_data(as_text=True)
    listing = client.get("/api/channels")
    assert "EAAG-secret" not in listing.get_data(as_text=True)
    assert [c["name"] for c in listing.get_json()["items"]] == ["Our page"]
    assert client.get(f"/api/channels/{body['id']}").get_json()["id"] == body["id"]


def test_without_a_base_url_a_channel_goes_to_its_networks_real_host():
    from socialpub.intake.channels import parse_channel

    values = parse_channel({"network": "facebook", "account_id": "1234567890", "token": "EAAG-secret"})
    assert values["base_url"].startswith("https://graph.facebook.com/v")


@pytest.mark.parametrize("network, account_id, name", [
    ("facebook", "546349135390552", "Sandbox Page"), ("instagram", "17841405822304914", "@sandbox_ig"),
    ("whatsapp", "106540352242922", "Sandbox WhatsApp (+1 650-555-0100)"),
    ("linkedin", "urn:li:organization:5515715", "Sandbox Co"), ("linkedin", "urn:li:person:782bbtaQ", "Sandra Box"),
])
def test_a_new_channel_is_checked_with_its_network_and_named_as_it_says(client, sandbox, network, account_id,
                                                                        name):
    base = sandbox.url if network == "linkedin" else f"{sandbox.url}/v24.0"
    extra = {"recipients": ["+16505551234"]} if network == "whatsapp" else {}
    response = client.post("/api/channels", json={"network": network, "account_id": account_id,
                                                  "token": "a-pasted-token", "base_url": base, **extra})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == name
    named = client.post("/api/channels", json={"network": network, "account_id": account_id, "name": "Ours",
                                               "token": "a-pasted-token", "base_url": base, **extra})
    assert named.get_json()["name"] == "Ours"  # a name given is kept


@pytest.mark.parametrize("network", ["facebook", "instagram", "linkedin", "whatsapp"])
def test_a_token_the_network_refuses_is_refused_in_its_words_and_nothing_is_stored(client, sandbox, network):
    base = sandbox.url if network == "linkedin" else f"{sandbox.url}/v24.0"
    account = "urn:li:organization:5515715" if network == "linkedin" else "546349135390552"
    extra = {"recipients": ["+16505551234"]} if network == "whatsapp" else {}
    response = client.post("/api/channels", json={"network": network, "account_id": account,
                                                  "token": "expired-token-123", "base_url": base, **extra})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "token" and "refused it" in error["message"] and "expired" in error["message"]
    assert "expired-token-123" not in response.get_data(as_text=True)
    with db.database.connection_context():
        assert Channel.select().count() == 0


def test_a_network_that_does_not_answer_stores_nothing(client):
    from tests.worker.test_queue_down import closed_port

    response = client.post("/api/channels", json={
        "network": "facebook", "account_id": "546349135390552", "token": "a-pasted-token",
        "base_url": f"http://127.0.0.1:{closed_port()}/v24.0"})
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "network_unreachable"
    with db.database.connection_context():
        assert Channel.select().count() == 0


def test_a_whatsapp_channel_keeps_its_recipients(client, sandbox):
    response = client.post("/api/channels", json={
        "network": "whatsapp", "account_id": "106540352242922", "token": "t",
        "base_url": f"{sandbox.url}/v24.0", "recipients": ["+16505551234", "+34 600000000"]})
    assert response.status_code == 201
    assert response.get_json()["recipients"] == ["+16505551234", "+34600000000"]


@pytest.mark.parametrize("payload, field", [
    ({"name": "x", "account_id": "1", "token": "t"}, "network"),
    ({"network": "myspace", "account_id": "1", "token": "t"}, "network"),
    ({"network": "facebook", "token": "t"}, "account_id"),
    ({"network": "facebook", "account_id": "1"}, "token"),
    ({"network": "facebook", "account_id": "1", "token": "t", "base_url": "gopher://x"}, "base_url"),
    ({"network": "linkedin", "account_id": "12345", "token": "t"}, "account_id"),
    ({"network": "linkedin", "account_id": "urn:li:person:abc", "token": "t", "api_version": "v2"},
     "api_version"),
    ({"network": "whatsapp", "account_id": "1", "token": "t", "business_account_id": "waba"}, "business_account_id"),
    ({"network": "whatsapp", "account_id": "1", "token": "t", "recipients": ["call me"]}, "recipients"),
    ({"network": "facebook", "account_id": "1", "token": "t", "recipients": ["+16505551234"]},
     "recipients"),
    ({"network": "facebook", "account_id": "1", "token": "t", "secret": "x"}, "secret"),
])
def test_bad_channels_are_refused_naming_the_field(client, payload, field):
    response = client.post("/api/channels", json=payload)
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]["field"] == field
    with db.database.connection_context():
        assert Channel.select().count() == 0
