"""API versions as data: the day each network stops serving the versions
socialpub speaks, the warning two months ahead (monitor, channels page,
gauge), the refusal after, and start-up refusing a retired configured version.

socialpub's clock is moved by patching ``api_versions.today`` (every reader
goes through it); the sandbox's LinkedIn by its ``today`` setting."""
from __future__ import annotations

import datetime as dt

import pytest

from socialpub import api_versions, db
from socialpub.config import Settings
from socialpub.models import Channel, Publication

BEFORE = dt.date(2026, 12, 7)   # 39 days before 202601's sunset
AFTER = dt.date(2027, 2, 1)     # 202601 retired on 2027-01-15


@pytest.fixture
def today(monkeypatch):
    """``today(day)`` moves socialpub's clock (the day versions are judged by)."""
    def move(day):
        monkeypatch.setattr(api_versions, "today", lambda: day)
    return move


@pytest.mark.parametrize("network, version, day, estimated", [
    ("linkedin", "202601", dt.date(2027, 1, 15), False),
    ("linkedin", "202603", dt.date(2027, 3, 16), False),
    ("linkedin", "202607", dt.date(2027, 7, 1), True),      # not published yet: a year after release at least
    ("facebook", "v24.0", dt.date(2028, 2, 18), False),
    ("whatsapp", "v21.0", dt.date(2027, 1, 21), False),
    ("instagram", "v26.0", None, False),                     # no end announced
    ("facebook", "v17.0", dt.date(2026, 5, 21), False),      # older than the table: long retired
])
def test_each_version_knows_the_day_it_stops_being_served(network, version, day, estimated):
    end = api_versions.sunset(network, version)
    assert (end.day, end.estimated) == (day, estimated)
    assert end.source


def test_a_retired_or_unreleased_linkedin_version_is_refused_with_the_fix():
    assert api_versions.refusal("linkedin", "202601", BEFORE) is None
    assert api_versions.refusal("linkedin", "202601", AFTER) == (
        "LinkedIn stopped serving version 202601 on 2027-01-15: clear the channel's API version (it then uses "
        f"{api_versions.DEFAULT_LINKEDIN_VERSION}) or set a current one, then retry.")
    assert "has no version 202701 yet" in api_versions.refusal("linkedin", "202701", BEFORE)
    assert api_versions.refusal("linkedin", "202701", AFTER) is None


def test_the_default_versions_are_served_for_months_after_the_linkedin_sunset():
    for network in ("facebook", "instagram", "linkedin", "whatsapp"):
        left = api_versions.sunset(network, api_versions.default_for(network)).days_left(AFTER)
        assert left > api_versions.WARN_DAYS, network


@pytest.mark.parametrize("env, words", [
    ({"SOCIALPUB_LINKEDIN_API_VERSION": "202510"}, "LinkedIn stopped serving version 202510 on 2026-10-15: "
                                                   "set SOCIALPUB_LINKEDIN_API_VERSION to"),
    ({"SOCIALPUB_GRAPH_API_VERSION": "v19.0"}, "Meta's Graph API stopped serving version v19.0 on 2026-05-21: "
                                               "set SOCIALPUB_GRAPH_API_VERSION to v24.0 or leave it unset"),
    ({"SOCIALPUB_LINKEDIN_API_VERSION": "2026-01"}, "SOCIALPUB_LINKEDIN_API_VERSION: '2026-01' is not a "
                                                    "LinkedIn API version"),
])
def test_start_up_refuses_a_configured_version_past_its_sunset(env, words, tmp_path, today):
    today(BEFORE)
    with pytest.raises(SystemExit) as refused:
        Settings.from_env({"SOCIALPUB_INSTANCE": str(tmp_path), **env})
    assert words in str(refused.value)


def test_start_up_takes_a_served_configured_version(tmp_path, today):
    today(BEFORE)
    settings = Settings.from_env({"SOCIALPUB_INSTANCE": str(tmp_path), "SOCIALPUB_LINKEDIN_API_VERSION": "202603",
                                  "SOCIALPUB_GRAPH_API_VERSION": "v25.0"})
    assert settings.api_versions() == {"graph": "v25.0", "linkedin": "202603"}


def _pin(channel_id, version):
    with db.database.connection_context():
        Channel.update(api_version=version).where(Channel.id == channel_id).execute()


def test_a_channel_pinned_to_a_version_near_its_sunset_is_flagged_on_the_monitor_and_channels_page(
        client, sandbox_channels, today):
    today(BEFORE)
    _pin(sandbox_channels["linkedin"], "202601")
    rows = client.get("/monitor.json").get_json()["api_versions"]
    pinned = next(r for r in rows if r["version"] == "202601")
    assert pinned == {"network": "linkedin", "version": "202601", "channels": 1, "sunset": "2027-01-15",
                      "estimated": False, "days_left": 39, "source": api_versions.LINKEDIN_SOURCE,
                      "words": "202601: served until 2027-01-15 (39 days)", "warn": True,
                      "fix": f"Edit the channel and clear its API version: it then uses "
                             f"{api_versions.DEFAULT_LINKEDIN_VERSION}."}
    assert rows[0] == pinned  # soonest first
    default = next(r for r in rows if r["version"] == api_versions.DEFAULT_LINKEDIN_VERSION)
    assert (default["channels"], default["warn"]) == (0, False)
    page = client.get("/monitor").get_data(as_text=True)
    assert "LinkedIn</span> 202601: served until 2027-01-15 (39 days) — 1 channel. Edit the channel" in page
    channels = client.get("/channels").get_data(as_text=True)
    assert "API version 202601: served until 2027-01-15 (39 days). Edit the channel" in channels


def test_the_days_left_gauge_names_each_version_in_use(client, sandbox_channels, today):
    today(BEFORE)
    _pin(sandbox_channels["linkedin"], "202601")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'socialpub_api_version_days_left{network="linkedin",version="202601"} 39.0' in text
    assert 'socialpub_api_version_days_left{network="facebook",version="v24.0"} 438.0' in text


def test_after_the_sunset_linkedin_posts_publish_on_the_default_and_a_pinned_channel_is_refused_unsent(
        app, client, sandbox, sandbox_client, sandbox_channels, publish_and_drain, today):
    today(AFTER)
    sandbox_client.configure(linkedin={"today": AFTER.isoformat()})
    post_id = publish_and_drain(channels=[sandbox_channels["linkedin"]])
    assert client.get(f"/api/posts/{post_id}").get_json()["status"] == "published"

    _pin(sandbox_channels["linkedin"], "202601")
    before = len(sandbox_client.requests())
    post_id = publish_and_drain(channels=[sandbox_channels["linkedin"]])
    with db.database.connection_context():
        publication = Publication.get(Publication.post == post_id)
    assert (publication.status, publication.last_error_code) == ("failed", "version")
    assert "LinkedIn stopped serving version 202601 on 2027-01-15: clear the channel's API version" \
        in publication.last_error
    assert len(sandbox_client.requests()) == before  # nothing reached LinkedIn
