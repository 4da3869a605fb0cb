"""Channel tokens are encrypted at rest and never leak: not in API responses,
pages, logs, metrics, the queue's messages or the rows we write — and the
keys can be rotated, a wrong key gives a clear error, and an existing database
is upgraded to encrypted tokens."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import stat
from pathlib import Path

import dramatiq
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from socialpub import db, encryption, schema
from socialpub.commands.cli import main
from socialpub.errors import SecretUnreadable
from socialpub.intake.channels import sandbox_channels
from socialpub.models import TABLES, Channel, Publication, SchemaVersion
from socialpub.networks import Content, ErrorKind, PublishError, Target, get_adapter

GRAPH_ITEM_PATHS = ("/feed", "/photos", "/media_publish", "/messages")


def made_up_tokens() -> dict:
    """A distinctive token per network, found nowhere unless it leaked."""
    return {network: f"tok-{network[:2].upper()}-{secrets.token_hex(12)}"
            for network in ("facebook", "instagram", "linkedin", "whatsapp")}


def connect_channels(client, sandbox, tokens) -> dict:
    """One channel per network through the JSON API; ``{network: (id, create response text)}``."""
    made = {}
    for definition in sandbox_channels(sandbox.url):
        response = client.post("/api/channels", json=dict(definition, token=tokens[definition["network"]]))
        assert response.status_code == 201, response.get_json()
        made[definition["network"]] = (response.get_json()["id"], response.get_data(as_text=True))
    return made


def redis_dump(client) -> str:
    """Every key of the broker's Redis database with its raw value."""
    readers = {"string": client.get, "list": lambda k: client.lrange(k, 0, -1), "hash": client.hgetall,
               "set": client.smembers, "zset": lambda k: client.zrange(k, 0, -1, withscores=True)}
    lines = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        lines.append(f"{key!r} {kind}: {readers[kind](key)!r}" if kind in readers else f"{key!r} {kind}")
    return "\n".join(lines)


def every_row() -> str:
    """Every row of every table, as the database holds it."""
    with db.database.connection_context():
        return "\n".join(repr(row) for model in TABLES for row in model.select().tuples())


def raw_token(channel_id) -> str:
    with db.database.connection_context():
        return Channel.select(Channel.token).where(Channel.id == channel_id).scalar()


def assert_nowhere(tokens, seen: dict):
    leaks = [f"{network}'s token in {where}" for where, text in seen.items()
             for network, token in tokens.items() if token in text]
    assert not leaks, leaks


@pytest.mark.settings(read_timeout=1, max_retries=3)
def test_no_configured_token_appears_in_responses_pages_logs_messages_or_rows(
        app, client, broker, settings, sandbox, sandbox_client, caplog, capfd, monkeypatch):
    caplog.set_level(logging.DEBUG)
    tokens = made_up_tokens()
    seen = {}
    channels = connect_channels(client, sandbox, tokens)
    seen.update({f"POST /api/channels ({network})": text for network, (_, text) in channels.items()})
    # Facebook answers too late (then the lost post is looked up and adopted),
    # Instagram refuses the token, LinkedIn fails once with a 500: every error path.
    sandbox_client.configure(facebook={"fail": {"error": "timeout_after_record", "seconds": 3}},
                             instagram={"fail": {"error": "token"}},
                             linkedin={"fail": {"error": "server_error", "times": 1}})
    # Every message, however it is enqueued (one by one, or a group in one
    # pipeline), passes the broker's before_enqueue hook.
    enqueued = []
    real_emit_before = broker.emit_before

    def recording_emit_before(signal, *args):
        if signal == "enqueue":
            enqueued.append(args[0].encode().decode())
        return real_emit_before(signal, *args)

    monkeypatch.setattr(broker, "emit_before", recording_emit_before)

    response = client.post("/api/posts", json={"text": "Secrets stay secret",
                                               "image_url": f"{sandbox.url}/_sandbox/image.jpg"})
    assert response.status_code == 201, response.get_json()
    post_id = response.get_json()["id"]
    seen["POST /api/posts"] = response.get_data(as_text=True)
    response = client.post(f"/api/posts/{post_id}/publish")
    assert response.status_code == 202, response.get_json()
    seen["POST /api/posts/<id>/publish"] = response.get_data(as_text=True)
    seen["Redis, before any worker"] = redis_dump(broker.client)

    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    try:
        broker.join(settings.queue_name, timeout=60_000)
        worker.join()
    finally:
        worker.stop()

    with db.database.connection_context():
        outcome = {p.network: p.status for p in Publication.select().where(Publication.post == post_id)}
        needs_reauth = Channel.get_by_id(channels["instagram"][0]).state
    assert outcome == {"facebook": "published", "instagram": "failed", "linkedin": "published",
                       "whatsapp": "published"}, outcome
    assert needs_reauth == "needs_reauth"
    assert len(enqueued) >= 6  # 4 publishes, then the retries of Facebook and LinkedIn

    pages = ["/api/posts", f"/api/posts/{post_id}", f"/api/posts/{post_id}/status", "/api/channels",
             *(f"/api/channels/{cid}" for cid, _ in channels.values()),
             "/", "/posts", f"/posts/{post_id}", "/channels", "/compose", "/monitor", "/monitor.json",
             "/metrics", *(f"/channels/{cid}/edit" for cid, _ in channels.values())]
    for path in pages:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.status_code)
        seen[f"GET {path}"] = response.get_data(as_text=True)
    seen["Redis, after the worker"] = redis_dump(broker.client)
    seen["messages enqueued (retries too)"] = "\n".join(enqueued)
    seen["database rows"] = every_row()
    seen["logs"] = caplog.text + "\n".join(logging.Formatter().format(r) for r in caplog.records)
    printed = capfd.readouterr()
    seen["stdout"], seen["stderr"] = printed.out, printed.err

    assert "Secrets stay secret" in seen["database rows"]  # the dump does hold the rows' text
    assert any("publish" in line for line in enqueued)
    assert "Error validating access token" in seen[f"GET /api/posts/{post_id}"]
    assert_nowhere(tokens, seen)


def test_a_network_that_echoes_the_token_in_an_error_does_not_get_it_stored_or_logged(
        client, sandbox_channels, drain, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    token = "sandbox-page-token"  # the Facebook channel's

    def echoing_publish(self, target, content, **kwargs):
        raise PublishError("facebook", f"(#100) Invalid parameter access_token={target.token} "
                           f"in {target!r}", kind=ErrorKind.PERMANENT, code=100)

    monkeypatch.setattr(type(get_adapter("facebook")), "publish", echoing_publish)
    response = client.post("/api/posts", json={"text": "echo", "networks": ["facebook"], "publish": True})
    assert response.status_code == 201, response.get_json()
    drain()
    body = client.get(f"/api/posts/{response.get_json()['id']}").get_data(as_text=True)
    assert "Invalid parameter" in body
    assert_nowhere({"facebook": token}, {"API": body, "rows": every_row(), "logs": caplog.text})


def test_a_target_never_shows_its_token_and_an_error_can_blank_it_out():
    target = Target("facebook", "123", "EAAB-secret-token", "https://graph.facebook.com/v24.0")
    assert "EAAB-secret-token" not in repr(target) and "EAAB-secret-token" not in str(target)
    error = PublishError("facebook", "bad token EAAB-secret-token", kind=ErrorKind.AUTH).redact(target.token)
    assert str(error) == "facebook: bad token ***" and error.args == ("bad token ***",)
    # Too short to be a secret: blanking it would garble the words around it.
    assert PublishError("facebook", "a token", kind=ErrorKind.AUTH).redact("t").message == "a token"


def test_graph_calls_send_the_token_in_a_header_not_in_the_url(sandbox, sandbox_client, caplog):
    caplog.set_level(logging.DEBUG)
    token = "tok-FB-" + secrets.token_hex(8)
    target = Target("facebook", "546349135390552", token, f"{sandbox.url}/v24.0")
    adapter = get_adapter("facebook")
    since = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    adapter.publish(target, Content("in the feed"))
    assert adapter.find_published(target, Content("in the feed"), since) is not None
    assert token not in caplog.text  # urllib3 logs every URL at DEBUG


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_token_is_stored_as_ciphertext_that_the_instance_key_opens(app, client, sandbox, settings):
    tokens = made_up_tokens()
    channels = connect_channels(client, sandbox, tokens)
    key_file = Path(settings.instance_dir) / "encryption_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = Fernet(key_file.read_text().strip())
    for network, (channel_id, _) in channels.items():
        stored = raw_token(channel_id)
        assert tokens[network] not in stored and stored.startswith(encryption.FERNET_PREFIX)
        assert key.decrypt(stored.encode()).decode() == tokens[network]
        with db.database.connection_context():
            assert Channel.get_by_id(channel_id).token == tokens[network]


def test_a_wrong_key_gives_an_error_that_names_the_channel_and_what_to_do(
        app, client, sandbox, sandbox_channels, drain):
    encryption.use_keys([Fernet.generate_key().decode()])  # the instance's key is lost
    channel_id = sandbox_channels["facebook"]
    with db.database.connection_context(), pytest.raises(SecretUnreadable) as caught:
        Channel.get_by_id(channel_id).token
    message = str(caught.value)
    assert f"channel {channel_id} ('Sandbox Page')" in message
    assert "SOCIALPUB_ENCRYPTION_KEYS" in message and "enter the token again" in message
    assert "Traceback" not in message and "gAAAAA" not in message

    listed = client.get("/api/channels")  # no key is needed to list channels
    assert listed.status_code == 200 and all(c["token_set"] for c in listed.get_json()["items"])
    page = client.get(f"/channels/{channel_id}/edit")
    assert page.status_code == 200 and "cannot be read" in page.get_data(as_text=True)

    response = client.post("/api/posts", json={"text": "no key", "networks": ["facebook"], "publish": True})
    drain()
    publication = client.get(f"/api/posts/{response.get_json()['id']}").get_json()["publications"][0]
    assert publication["status"] == "failed" and publication["last_error_code"] == "secret_unreadable"
    assert f"channel {channel_id} ('Sandbox Page')" in publication["last_error"]

    # A new token re-authorises the channel without the lost key.
    app.config["WTF_CSRF_ENABLED"] = False
    edited = client.post(f"/channels/{channel_id}/edit", data={
        "name": "Sandbox Page", "account_id": "546349135390552", "token": "a-new-page-token",
        "base_url": f"{sandbox.url}/v24.0", "enabled": "y"})
    assert edited.status_code == 302, edited.get_data(as_text=True)
    with db.database.connection_context():
        assert Channel.get_by_id(channel_id).token == "a-new-page-token"


def test_rotate_key_re_encrypts_every_token_so_that_only_the_new_key_is_needed(
        app, client, sandbox, settings, monkeypatch):
    tokens = made_up_tokens()
    channels = connect_channels(client, sandbox, tokens)
    old = settings.ensure_encryption_keys()[0]
    new = Fernet.generate_key().decode()
    env = {"DATABASE_URL": settings.database_url, "SOCIALPUB_INSTANCE": settings.instance_dir,
           "SOCIALPUB_ENCRYPTION_KEYS": f"{new},{old}"}

    result = CliRunner().invoke(main, ["rotate-key"], env=env)
    assert result.exit_code == 0, result.output
    assert "4 secret(s) re-encrypted" in result.output
    again = CliRunner().invoke(main, ["rotate-key"], env=env)
    assert again.exit_code == 0 and "0 secret(s) re-encrypted with the first key; 4 already were" in again.output

    encryption.use_keys([new])  # the old key is dropped
    for network, (channel_id, _) in channels.items():
        assert Fernet(new).decrypt(raw_token(channel_id).encode()).decode() == tokens[network]
        with db.database.connection_context():
            assert Channel.get_by_id(channel_id).token == tokens[network]

    # Rotating with a key list that opens nothing changes nothing and says which channel.
    stranger = Fernet.generate_key().decode()
    before = [raw_token(cid) for cid, _ in channels.values()]
    refused = CliRunner().invoke(main, ["rotate-key"], env=dict(env, SOCIALPUB_ENCRYPTION_KEYS=stranger))
    assert refused.exit_code != 0 and "cannot be decrypted" in refused.output
    assert "nothing was changed" in refused.output
    assert [raw_token(cid) for cid, _ in channels.values()] == before


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrading_a_database_with_plaintext_tokens_encrypts_them(app, sandbox_channels):
    step = schema.STEPS.index(schema._encrypted_tokens) + 1
    with db.database.connection_context():
        # As the database was before this step: tokens in plaintext.
        for network, channel_id in sandbox_channels.items():
            Channel.update({Channel.token: encryption.Ciphertext(f"plain-{network}-token")}) \
                .where(Channel.id == channel_id).execute()
        SchemaVersion.delete().where(SchemaVersion.version >= step).execute()
        with pytest.raises(SecretUnreadable, match="stored unencrypted; run `socialpub db upgrade`"):
            Channel.get_by_id(sandbox_channels["linkedin"]).token

        assert schema.upgrade()[0] == step - 1
        assert schema.upgrade()[0] == len(schema.STEPS)  # once only
        for network, channel_id in sandbox_channels.items():
            assert raw_token(channel_id).startswith(encryption.FERNET_PREFIX)
            assert Channel.get_by_id(channel_id).token == f"plain-{network}-token"


def test_the_embedded_key_is_made_once_and_shared_by_every_process_of_the_instance(tmp_path):
    from socialpub.config import Settings

    settings = Settings(instance_dir=str(tmp_path / "instance"))
    first = settings.ensure_encryption_keys()
    assert settings.ensure_encryption_keys() == first and len(first) == 1
    Fernet(first[0])  # a valid key
    assert [p.name for p in (tmp_path / "instance").iterdir()] == ["encryption_key"]
    assert settings.with_(encryption_keys=("a", "b")).ensure_encryption_keys() == ("a", "b")
    assert "secret-key-text" not in repr(settings.with_(encryption_keys=("secret-key-text",)))
