"""A channel's API address is the user's to set: the workers' calls to it are
checked like the image download is (public addresses, or the allowed networks),
so a channel cannot point the workers, token attached, at an internal service."""
import socket

import pytest

from socialpub import db
from socialpub.models import Attempt, Publication


@pytest.mark.settings(outbound_allow=("127.0.0.2/32",))
def test_a_channel_pointed_at_a_refused_address_is_refused_without_a_request_reaching_it(client):
    internal = socket.create_server(("127.0.0.1", 0))  # "an internal service"
    internal.setblocking(False)
    with internal:
        response = client.post("/api/channels", json={
            "network": "facebook", "account_id": "123", "token": "page-token-123456",
            "base_url": f"http://127.0.0.1:{internal.getsockname()[1]}/internal/admin"})
        with pytest.raises(BlockingIOError):  # no connection is waiting to be accepted
            internal.accept()
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "base_url" and "127.0.0.1 is a loopback address" in error["message"]


@pytest.mark.settings(outbound_allow=("127.0.0.2/32",))
def test_a_channel_stored_pointing_at_a_refused_address_fails_without_a_request_reaching_it(client, app, drain):
    from socialpub.intake.channels import create_channel

    internal = socket.create_server(("127.0.0.1", 0))  # "an internal service"
    internal.setblocking(False)
    with internal:
        port = internal.getsockname()[1]
        with db.database.connection_context():  # stored before channels were checked on saving
            channel = create_channel({"network": "facebook", "account_id": "123", "token": "page-token-123456",
                                      "base_url": f"http://127.0.0.1:{port}/internal/admin"})
        created = client.post("/api/posts", json={"text": "Hi", "channels": [channel.id], "publish": True})
        assert created.status_code == 201
        drain()
        with pytest.raises(BlockingIOError):  # no connection is waiting to be accepted
            internal.accept()
    with db.database.connection_context():
        publication = Publication.get(Publication.post == created.get_json()["id"])
        attempts = Attempt.select().where(Attempt.publication == publication.id).count()
    assert publication.status == "failed"
    assert "refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address" in publication.last_error
    assert attempts == 1  # refused for good, never retried


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:9/admin?x=", "http://127.0.0.1:9/a#b",
                                      "http://user:pw@graph.example/v24.0"])
def test_an_api_address_with_a_query_fragment_or_user_is_refused(client, base_url):
    response = client.post("/api/channels", json={"network": "facebook", "account_id": "123",
                                                   "token": "page-token-123456", "base_url": base_url})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "base_url"
