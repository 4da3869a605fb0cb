"""The channels API: connecting accounts, with tokens never shown back."""
import pytest

from socialpub import db
from socialpub.models import Channel


def test_a_channel_is_created_and_its_token_is_never_shown(client):
    response = client.post("/api/channels", json={
        "network": "facebook", "name": "Our page", "account_id": "1234567890", "token": "EAAG-secret"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["base_url"].startswith("https://graph.facebook.com/v")
    assert body["token_set"] is True
    assert "EAAG-secret" not in response.get_data(as_text=True)
    listing = client.get("/api/channels")
    assert "EAAG-secret" not in listing.get_data(as_text=True)
    assert [c["name"] for c in listing.get_json()["items"]] == ["Our page"]
    assert client.get(f"/api/channels/{body['id']}").get_json()["id"] == body["id"]


def test_a_whatsapp_channel_keeps_its_recipients(client):
    response = client.post("/api/channels", json={
        "network": "whatsapp", "account_id": "106540352242922", "token": "t",
        "recipients": ["+16505551234", "+34 600000000"]})
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
    ({"network": "whatsapp", "account_id": "1", "token": "t"}, "recipients"),
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
