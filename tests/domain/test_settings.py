"""Settings read from the environment (socialpub/config.py): one name for each
setting, SOCIALPUB_ and its name in capitals; the old names still read, and said."""
import logging
import re
from pathlib import Path

import pytest

from socialpub import config
from socialpub.config import OLD_NAMES, Settings, env_name, env_text, renamed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def said(monkeypatch, caplog):
    """The lines about old names, each said once per process: a fresh process here."""
    monkeypatch.setattr(config, "_said", set())
    caplog.set_level(logging.WARNING, logger="socialpub.config")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "socialpub.config"]


def env(tmp_path, **variables) -> dict:
    return {"SOCIALPUB_INSTANCE": str(tmp_path), **variables}


def test_a_setting_is_read_from_socialpub_and_its_name_in_capitals(tmp_path, said):
    settings = Settings.from_env(env(tmp_path, SOCIALPUB_MAX_RETRIES="7", SOCIALPUB_QUEUE_NAME="elsewhere",
                                     SOCIALPUB_READ_TIMEOUT="2.5", SOCIALPUB_REDIS_URL="redis://r:6379/1",
                                     SOCIALPUB_DATABASE_URL="postgresql://db/socialpub"))
    assert (settings.max_retries, settings.queue_name, settings.read_timeout) == (7, "elsewhere", 2.5)
    assert (settings.redis_url, settings.database_url) == ("redis://r:6379/1", "postgresql://db/socialpub")
    assert settings.instance_dir == str(tmp_path)
    assert said() == []


def test_an_old_name_is_still_read_and_said_once_with_its_new_name(tmp_path, said):
    old = env(tmp_path, PUBLISH_MAX_RETRIES="6", OUTBOUND_ALLOW_NETWORKS="127.0.0.1:5055")
    assert Settings.from_env(old).max_retries == 6
    assert Settings.from_env(old).outbound_allow == ("127.0.0.1:5055",)
    assert said() == ["PUBLISH_MAX_RETRIES is an old name, still read for now: rename it SOCIALPUB_MAX_RETRIES",
                      "OUTBOUND_ALLOW_NETWORKS is an old name, still read for now: rename it "
                      "SOCIALPUB_OUTBOUND_ALLOW"]


def test_the_new_name_wins_over_the_old_one(tmp_path, said):
    settings = Settings.from_env(env(tmp_path, SOCIALPUB_MAX_RETRIES="4", PUBLISH_MAX_RETRIES="9",
                                     SOCIALPUB_MAX_AGE_S="", PUBLISH_MAX_AGE_S="120"))
    assert settings.max_retries == 4
    # An empty variable is not set: the old name is read.
    assert settings.max_age_s == 120
    assert said()[0] == "PUBLISH_MAX_RETRIES is ignored: SOCIALPUB_MAX_RETRIES is set, which replaces it; remove " \
                        "PUBLISH_MAX_RETRIES"


@pytest.mark.parametrize("variables, message", [
    ({"SOCIALPUB_MAX_RETRIES": "abc"}, "SOCIALPUB_MAX_RETRIES must be a whole number, not 'abc'"),
    ({"PUBLISH_MAX_RETRIES": "2.5"}, "PUBLISH_MAX_RETRIES must be a whole number, not '2.5'"),
    ({"SOCIALPUB_MAX_RETRIES": "x", "PUBLISH_MAX_RETRIES": "3"}, "SOCIALPUB_MAX_RETRIES must be a whole number"),
    ({"HTTP_CONNECT_TIMEOUT": "soon"}, "HTTP_CONNECT_TIMEOUT must be a number, not 'soon'"),
    ({"SOCIALPUB_OUTBOUND_ALLOW": "127.0.0.1:0"}, "SOCIALPUB_OUTBOUND_ALLOW: '127.0.0.1:0': the port must be"),
])
def test_a_value_of_the_wrong_kind_stops_start_up_naming_the_variable_that_was_set(tmp_path, said, variables,
                                                                                    message):
    with pytest.raises(SystemExit) as refused:
        Settings.from_env(env(tmp_path, **variables))
    assert str(refused.value).startswith(message)
    assert "pydantic" not in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("variables, message", [
    ({"SOCIALPUB_PROCESSING_LEASE_S": "300"}, "SOCIALPUB_PROCESSING_LEASE_S must be longer than "
                                              "SOCIALPUB_TIME_LIMIT_S"),
    ({"PUBLISH_MAX_AGE_S": "60"}, "SOCIALPUB_MAX_AGE_S must be longer than 70 s"),
    ({"SOCIALPUB_MIN_BACKOFF_MS": "9000", "SOCIALPUB_MAX_BACKOFF_MS": "1000"},
     "SOCIALPUB_MIN_BACKOFF_MS must not be larger than SOCIALPUB_MAX_BACKOFF_MS"),
    ({"SOCIALPUB_SMTP_URL": "mail.example.com"}, "SOCIALPUB_SMTP_URL must start with smtp://"),
    ({"SOCIALPUB_MEDIA_DECODE_MEMORY": "1000"}, "SOCIALPUB_MEDIA_DECODE_MEMORY must be at least "
                                                "SOCIALPUB_MEDIA_DECODE_MAX_BYTES"),
    ({"SOCIALPUB_MEDIA_STORAGE": "ftp://x"}, "SOCIALPUB_MEDIA_STORAGE must be 'local' or s3://bucket/prefix"),
    ({"WHATSAPP_SEND_RATE": "0"}, "SOCIALPUB_WHATSAPP_SEND_RATE must be positive"),
    ({"SOCIALPUB_PAGE_SIZE": "200"}, "SOCIALPUB_MAX_PAGE_SIZE must be at least SOCIALPUB_PAGE_SIZE"),
])
def test_settings_that_cannot_work_together_still_stop_start_up(tmp_path, said, variables, message):
    with pytest.raises(SystemExit) as refused:
        Settings.from_env(env(tmp_path, **variables))
    assert str(refused.value).startswith(message)


def test_the_defaults_are_those_of_before(tmp_path):
    settings = Settings.from_env(env(tmp_path))
    assert settings.database_url == f"sqlite:///{tmp_path / 'socialpub.db'}"
    assert (settings.redis_url, settings.queue_name, settings.secret_key, settings.encryption_keys) == \
        ("embedded", "publish", "", ())
    assert (settings.max_retries, settings.min_backoff_ms, settings.max_backoff_ms, settings.max_age_s,
            settings.time_limit_s, settings.processing_lease_s, settings.heartbeat_timeout_ms) == \
        (3, 5_000, 300_000, 3600, 300, 360, 60_000)
    assert (settings.connect_timeout, settings.read_timeout, settings.outbound_allow) == (5.0, 30.0, ())
    assert (settings.behind_proxy, settings.require_approval, settings.media_keep_location) == (False, False, False)
    assert (settings.linkedin_oauth_url, settings.facebook_graph_url, settings.mail_from) == \
        ("https://www.linkedin.com/oauth/v2", "https://graph.facebook.com", "socialpub@localhost")
    assert (settings.media_max_bytes, settings.whatsapp_send_rate, settings.page_size, settings.max_page_size) == \
        (8 * 2**20, 80, 20, 100)
    # Given in Python, the defaults alone: no instance folder or database chosen yet.
    assert (Settings().database_url, Settings().instance_dir, Settings().max_retries) == ("", "", 3)


def test_text_switches_and_lists_are_read_as_before(tmp_path):
    settings = Settings.from_env(env(tmp_path, SOCIALPUB_PUBLIC_BASE_URL=" https://social.example.com/ ",
                                     SOCIALPUB_ENCRYPTION_KEYS=" first, second,,", SOCIALPUB_BEHIND_PROXY="YES",
                                     SOCIALPUB_REQUIRE_APPROVAL="on", MEDIA_KEEP_LOCATION="1",
                                     SOCIALPUB_OUTBOUND_ALLOW="127.0.0.1:5055, 10.1.2.3/16, [::1]:80"))
    assert settings.public_base_url == "https://social.example.com"
    assert settings.encryption_keys == ("first", "second")
    # "1", "true" and "yes" are on; any other text is off, as before.
    assert (settings.behind_proxy, settings.require_approval, settings.media_keep_location) == (True, False, True)
    assert settings.outbound_allow == ("127.0.0.1:5055", "10.1.0.0/16", "[::1]:80")


def test_settings_given_in_python_read_no_environment_and_from_env_reads_the_one_given(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALPUB_MAX_RETRIES", "9")
    monkeypatch.setenv("PUBLISH_QUEUE", "from-the-process")
    assert Settings().max_retries == 3 and Settings(max_retries=5).max_retries == 5
    assert Settings.from_env(env(tmp_path)).max_retries == 3
    settings = Settings.from_env()
    assert (settings.max_retries, settings.queue_name) == (9, "from-the-process")


def test_with_makes_a_changed_copy_and_refuses_a_setting_that_does_not_exist(tmp_path):
    settings = Settings.from_env(env(tmp_path))
    changed = settings.with_(max_retries=1, outbound_allow=("127.0.0.1/32",))
    assert (changed.max_retries, changed.outbound_allow, settings.max_retries) == (1, ("127.0.0.1/32",), 3)
    assert changed.instance_dir == settings.instance_dir
    assert settings.with_() == settings and hash(settings.with_()) == hash(settings)
    with pytest.raises(TypeError, match="no max_retry"):
        settings.with_(max_retry=1)
    with pytest.raises(Exception):
        settings.max_retries = 2  # immutable


def test_secrets_are_kept_out_of_repr(tmp_path):
    secrets = {"secret_key": "s-key", "encryption_keys": ("e-key",), "metrics_token": "m-token",
               "linkedin_client_secret": "li-secret", "facebook_app_secret": "fb-secret",
               "instagram_app_secret": "ig-secret", "whatsapp_verify_token": "wa-token",
               "whatsapp_app_secret": "wa-secret", "smtp_url": "smtps://u:mail-password@host:465",
               "database_url": "postgresql://u:db-password@db/socialpub",
               "redis_url": "redis://:redis-password@redis:6379/0"}
    shown = repr(Settings.from_env(env(tmp_path)).with_(**secrets)) + str(Settings(**secrets))
    assert not re.search(r"s-key|e-key|m-token|secret'|wa-token|password", shown)
    assert "max_retries=3" in shown


def test_every_setting_and_every_old_name_is_in_the_configuration_document():
    document = (ROOT / "docs" / "configuration.md").read_text()
    for setting in Settings.model_fields:
        assert f"`{env_name(setting)}`" in document, setting
    old_names = document.split("## Old names", 1)[1]
    for setting, old in OLD_NAMES.items():
        assert f"`{old}` | `{env_name(setting)}`" in old_names, old


def test_socialpub_up_hands_its_children_the_new_names_alone():
    given = {"PUBLISH_MAX_RETRIES": "5", "SOCIALPUB_MAX_AGE_S": "100", "PUBLISH_MAX_AGE_S": "200", "PATH": "/bin"}
    assert renamed(given) == {"SOCIALPUB_MAX_RETRIES": "5", "SOCIALPUB_MAX_AGE_S": "100", "PATH": "/bin"}
    # What the sandbox reads of the settings, by either name.
    assert env_text({"SOCIALPUB_PUBLIC_BASE_URL": "http://a", "PUBLIC_BASE_URL": "http://b"}, "public_base_url") \
        == "http://a"
    assert env_text({"OUTBOUND_ALLOW_NETWORKS": "10.0.0.0/8"}, "outbound_allow") == "10.0.0.0/8"
    assert env_text({}, "outbound_allow") == ""
