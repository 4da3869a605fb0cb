"""Tokens that stay alive: a connected LinkedIn token close to expiry is
refreshed by the scheduler's job against the sandbox's token endpoint — once,
with two schedulers at once; a refusal puts the channel in needs_reauth in
LinkedIn's words; one that cannot be refreshed is shown as expiring soon, on
the Channels page, the monitor and /metrics."""
import datetime as dt
import threading

import pytest

from socialpub import db
from socialpub.connecting import refresh
from socialpub.models import Channel, ChannelState, utcnow

from tests.support.web_helpers import page
from tests.networks.test_connect_linkedin import channels, connect, with_sandbox_linkedin


@pytest.fixture
def settings(settings, sandbox):
    return with_sandbox_linkedin(settings, sandbox)


@pytest.fixture
def connected(form_client, sandbox, sandbox_client):
    """A LinkedIn profile connected by its flow (after the sandbox's reset), its token now five days
    from expiry."""
    connect(form_client, sandbox, "member")
    [channel] = channels()
    with db.database.connection_context():
        Channel.update(token_expires_at=utcnow() + dt.timedelta(days=5)).where(Channel.id == channel.id).execute()
        return Channel.get_by_id(channel.id)


def test_a_token_about_to_expire_is_refreshed_and_publishing_goes_on(
        connected, settings, form_client, sandbox_client, drain):
    with db.database.connection_context():
        assert refresh.refresh_due(settings) == {"refreshed": 1, "failed": 0, "left": 0}
        channel = Channel.get_by_id(connected.id)
    assert channel.token != connected.token and channel.state == ChannelState.ACTIVE
    assert channel.token_expires_at > utcnow() + dt.timedelta(days=59)
    assert channel.refresh_token == connected.refresh_token and channel.token_refreshing_since is None
    response = form_client.post("/api/posts", json={"text": "After the refresh", "channels": [channel.id],
                                                    "publish": True})
    assert response.status_code == 201
    drain()
    assert len(sandbox_client.received("linkedin")) == 1
    with db.database.connection_context():
        assert refresh.refresh_due(settings) == {"refreshed": 0, "failed": 0, "left": 0}  # not due any more


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_two_schedulers_refreshing_at_once_refresh_once(connected, settings):
    barrier, results = threading.Barrier(2), []

    def run():
        with db.database.connection_context():
            barrier.wait()
            results.append(refresh.refresh_due(settings))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["refreshed"] for r in results) == [0, 1]


def test_a_refused_refresh_puts_the_channel_in_needs_reauth_in_linkedins_words(connected, settings, sandbox):
    with db.database.connection_context():
        # LinkedIn no longer knows the refresh token (revoked, or past its year).
        Channel.update(refresh_token="AQX-revoked").where(Channel.id == connected.id).execute()
        assert refresh.refresh_due(settings)["failed"] == 1
        channel = Channel.get_by_id(connected.id)
    assert channel.state == ChannelState.NEEDS_REAUTH
    assert "refresh token is invalid, expired or revoked" in channel.state_reason and "reconnect" in channel.state_reason


def test_a_token_endpoint_that_does_not_answer_is_tried_again_at_the_next_run(connected, settings):
    from tests.worker.test_queue_down import closed_port

    down = settings.with_(linkedin_oauth_url=f"http://127.0.0.1:{closed_port()}/oauth/v2")
    with db.database.connection_context():
        assert refresh.refresh_due(down) == {"refreshed": 0, "failed": 0, "left": 1}
        channel = Channel.get_by_id(connected.id)
        assert channel.state == ChannelState.ACTIVE and channel.token_refreshing_since is None
        assert refresh.refresh_due(settings)["refreshed"] == 1


def test_a_token_that_cannot_be_refreshed_is_shown_as_expiring_soon(
        form_client, client, sandbox, sandbox_client):
    sandbox_client.configure(linkedin={"refresh_tokens": False})  # LinkedIn grants none to this app
    connect(form_client, sandbox, "member")
    [channel] = channels()
    assert channel.refresh_token is None
    assert "Expires soon" not in page(form_client.get("/channels"))  # 60 days left
    with db.database.connection_context():
        Channel.update(token_expires_at=utcnow() + dt.timedelta(days=3)).where(Channel.id == channel.id).execute()
    html_page = page(form_client.get("/channels"))
    assert "Expires soon" in html_page and 'aria-label="Reconnect Sandra Box"' in html_page
    assert [c["name"] for c in client.get("/monitor.json").get_json()["channels_expiring_soon"]] == ["Sandra Box"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'socialpub_channels_expiring_soon{network="linkedin"} 1.0' in metrics
    # Reconnecting gives a new 60-day token: no longer expiring soon.
    connect(form_client, sandbox, "member")
    assert "Expires soon" not in page(form_client.get("/channels"))
