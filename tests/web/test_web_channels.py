"""The channels pages and channels.update_channel: state, last success,
add and edit, and tokens that never come back out."""
import re

import pytest

from socialpub import db
from socialpub.errors import InvalidInput
from socialpub.intake.channels import create_channel, update_channel
from socialpub.models import Channel, ChannelState, utcnow

from tests.support.web_helpers import field_errors, input_value, page

TOKEN = "EAAB-secret-token-value-1234567890"



def make_channel(**changes):
    data = {"network": "facebook", "name": "Our page", "account_id": "1234", "token": TOKEN,
            "base_url": "http://127.0.0.1:9/v24.0"}
    data.update(changes)
    with db.database.connection_context():
        return create_channel(data)


def set_needs_reauth(channel_id, reason):
    with db.database.connection_context():
        Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason=reason).where(
            Channel.id == channel_id).execute()


def test_channels_are_listed_with_network_state_and_last_success(app, form_client):
    good = make_channel(name="Good page")
    broken = make_channel(name="Broken page")
    set_needs_reauth(broken.id, "Error validating access token: Session has expired")
    with db.database.connection_context():
        Channel.update(last_published_at=utcnow()).where(Channel.id == good.id).execute()
    html = page(form_client.get("/channels"))
    good_row = html[html.index(f'id="channel-{good.id}"'):html.index(f'id="channel-{broken.id}"')]
    broken_row = html[html.index(f'id="channel-{broken.id}"'):]
    assert "Active" in good_row and "<time" in good_row
    assert "Needs re-authorisation" in broken_row and "Session has expired" in broken_row
    assert "Never" in broken_row and "Update token" in broken_row
    # Times carry microseconds, which may hold any four digits: they are not the token's.
    without_times = re.sub(r'datetime="[^"]*"', "", html)
    assert TOKEN not in html and TOKEN[-4:] not in without_times


def test_adding_a_channel_from_the_form_stores_it(form_client, sandbox):
    response = form_client.post("/channels/new", data={
        "network": "whatsapp", "name": "Support line", "account_id": "106540352242922", "token": TOKEN,
        "base_url": f"{sandbox.url}/v24.0", "recipients": "+16505551234\r\n+44 7700 900123\r\n",
        "enabled": "1"})
    assert response.status_code == 302
    with db.database.connection_context():
        channel = Channel.get()
    assert (channel.network, channel.name, channel.token) == ("whatsapp", "Support line", TOKEN)
    assert channel.recipients == ["+16505551234", "+447700900123"]
    assert channel.base_url == f"{sandbox.url}/v24.0"


def test_a_token_the_network_refuses_comes_back_next_to_the_token_field(form_client, sandbox):
    response = form_client.post("/channels/new", data={
        "network": "facebook", "account_id": "546349135390552", "token": "expired-page-token",
        "base_url": f"{sandbox.url}/v24.0", "enabled": "1"})
    assert response.status_code == 422
    assert any("Session has expired" in message for message in field_errors(page(response), "token"))
    with db.database.connection_context():
        assert Channel.select().count() == 0


def test_a_refused_channel_keeps_the_input_but_never_echoes_the_token(form_client):
    response = form_client.post("/channels/new", data={
        "network": "linkedin", "name": "Company", "account_id": "12345", "token": TOKEN, "enabled": "1"})
    assert response.status_code == 422
    html = page(response)
    assert field_errors(html, "account_id")[0].startswith("A LinkedIn author URN")
    assert input_value(html, "name") == "Company" and input_value(html, "account_id") == "12345"
    assert TOKEN not in html
    with db.database.connection_context():
        assert Channel.select().count() == 0


def test_a_channel_needs_a_token_and_a_network(form_client):
    html = page(form_client.post("/channels/new", data={"network": "facebook", "account_id": "1"}))
    assert field_errors(html, "token") == ["The access token is required"]
    html = page(form_client.post("/channels/new", data={"account_id": "1", "token": "t"}))
    assert field_errors(html, "network")


def test_the_edit_form_never_shows_the_token(form_client):
    channel = make_channel()
    html = page(form_client.get(f"/channels/{channel.id}/edit"))
    assert input_value(html, "token") == ""
    assert TOKEN not in html
    assert "ends in …7890" in html
    assert input_value(html, "account_id") == "1234"


def test_editing_without_a_token_keeps_the_token_and_the_state(form_client):
    channel = make_channel()
    set_needs_reauth(channel.id, "expired")
    response = form_client.post(f"/channels/{channel.id}/edit", data={
        "name": "Renamed", "account_id": "1234", "base_url": "http://127.0.0.1:9/v24.0", "enabled": "1"})
    assert response.status_code == 302
    with db.database.connection_context():
        stored = Channel.get_by_id(channel.id)
    assert (stored.name, stored.token, stored.state) == ("Renamed", TOKEN, ChannelState.NEEDS_REAUTH)


def test_a_new_token_from_the_edit_form_makes_the_channel_active_again(form_client, sandbox):
    channel = make_channel(base_url=f"{sandbox.url}/v24.0")
    set_needs_reauth(channel.id, "Error validating access token")
    html = page(form_client.get(f"/channels/{channel.id}/edit"))
    assert "Error validating access token" in html
    response = form_client.post(f"/channels/{channel.id}/edit", data={
        "name": "Our page", "account_id": "1234", "token": "new-token", "base_url": f"{sandbox.url}/v24.0",
        "enabled": "1"}, follow_redirects=True)
    assert "It is active again." in page(response)
    with db.database.connection_context():
        stored = Channel.get_by_id(channel.id)
    assert (stored.token, stored.state, stored.state_reason) == ("new-token", ChannelState.ACTIVE, None)
    # A new token that the network refuses changes nothing.
    set_needs_reauth(channel.id, "Error validating access token")
    refused = form_client.post(f"/channels/{channel.id}/edit", data={
        "name": "Our page", "account_id": "1234", "token": "expired-again", "base_url": f"{sandbox.url}/v24.0",
        "enabled": "1"})
    assert refused.status_code == 422
    with db.database.connection_context():
        assert (Channel.get_by_id(channel.id).token, Channel.get_by_id(channel.id).state) == (
            "new-token", ChannelState.NEEDS_REAUTH)


def test_a_channel_can_be_disabled_and_is_then_not_offered_on_the_compose_page(form_client):
    channel = make_channel()
    form_client.post(f"/channels/{channel.id}/edit", data={"name": "Our page", "account_id": "1234"})
    with db.database.connection_context():
        assert Channel.get_by_id(channel.id).enabled is False
    assert f'name="channels" value="{channel.id}"' not in page(form_client.get("/compose"))


def test_an_unknown_channel_is_a_404(form_client):
    assert form_client.get("/channels/999/edit").status_code == 404


def test_update_channel_validates_like_create_and_keeps_what_is_not_given(app):
    channel = make_channel(network="whatsapp", account_id="106540352242922", recipients=["+16505551234"])
    with db.database.connection_context():
        updated = update_channel(channel, {"name": "Renamed"})
        assert (updated.name, updated.recipients, updated.token) == ("Renamed", ["+16505551234"], TOKEN)
        with pytest.raises(InvalidInput) as refused:
            update_channel(channel, {"recipients": ["not a number"]})
        assert refused.value.field == "recipients"
        with pytest.raises(InvalidInput) as refused:
            update_channel(channel, {"network": "facebook"})
        assert refused.value.field == "network"
        assert Channel.get_by_id(channel.id).recipients == ["+16505551234"]


def test_update_channel_with_a_token_resets_the_state(app):
    channel = make_channel()
    set_needs_reauth(channel.id, "expired")
    with db.database.connection_context():
        assert update_channel(Channel.get_by_id(channel.id), {"token": "  "}).state == ChannelState.NEEDS_REAUTH
        updated = update_channel(Channel.get_by_id(channel.id), {"token": "fresh"})
    assert (updated.token, updated.state, updated.state_reason) == ("fresh", ChannelState.ACTIVE, None)


def test_moving_a_channel_to_another_host_needs_its_token_again(app):
    from socialpub import db
    from socialpub.errors import InvalidInput
    from socialpub.intake.channels import create_channel, update_channel

    with db.database.connection_context():
        channel = create_channel({"network": "facebook", "account_id": "1", "token": "secret"})
        with pytest.raises(InvalidInput) as refused:
            update_channel(channel, {"base_url": "https://attacker.example/v24.0"})
        assert refused.value.field == "token"
        moved = update_channel(channel, {"base_url": "https://attacker.example/v24.0", "token": "new"})
        assert moved.base_url == "https://attacker.example/v24.0" and moved.token == "new"


def test_without_linkedin_credentials_there_is_no_connect_button(form_client):
    assert "Connect LinkedIn" not in page(form_client.get("/channels"))
    assert form_client.get("/channels/connect/linkedin").status_code == 404
