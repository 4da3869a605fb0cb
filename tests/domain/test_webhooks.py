"""Outcome webhooks, per the Standard Webhooks specification: events written
to the outbox in the status change's transaction, delivered signed (verified
here by the standardwebhooks library), retried with the same webhook-id,
Retry-After honoured, 410 turning the endpoint off, secrets rotated with an
overlap, lost messages re-driven; managed by admins through /api/webhooks."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import replace

import pytest

from socialpub import audit, db
from socialpub.db import write_transaction
from socialpub.models import OutboxEvent, WebhookDelivery, WebhookEndpoint, utcnow
from socialpub.webhooks import endpoints, events, sending

from tests.conftest import TEST_EMAIL
from tests.support import slow_server
from tests.support.slow_server import Trickler
from tests.support.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    made = []

    def make(**options):
        made.append(Receiver(**options))
        return made[-1]
    yield make
    for r in made:
        r.close()


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(sending, "OUTBOX", replace(sending.OUTBOX, schedule=(dt.timedelta(milliseconds=200),) * 3))


def endpoint(client, url, **fields) -> dict:
    response = client.post("/api/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_partly_failed_post_sends_each_outcome_signed_and_once(
        client, sandbox_channels, sandbox_client, drain, receiver, settle):
    hook = receiver()
    made = endpoint(client, hook.url)
    assert made["secret"].startswith("whsec_")
    hook.secrets = [made["secret"]]
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = client.post("/api/posts", json={"text": "Half of it", "networks": ["facebook", "linkedin"],
                                              "publish": True}).get_json()["id"]
    drain()
    received = hook.wait_for(3)
    assert sorted(hook.types()) == ["post.partially_published", "publication.failed", "publication.published"]
    assert all(r["verified_with"] == [0] for r in received)
    assert len({r["id"] for r in received}) == 3 and all(r["id"].startswith("msg_") for r in received)
    post = next(r["body"] for r in received if r["body"]["type"] == "post.partially_published")
    assert set(post) == {"type", "timestamp", "data"}
    assert post["data"]["id"] == post_id and post["data"]["status"] == "partially_published"
    assert sorted(p["status"] for p in post["data"]["publications"]) == ["failed", "published"]
    failed = next(r["body"]["data"] for r in received if r["body"]["type"] == "publication.failed")
    assert failed["network"] == "linkedin" and "enum" in failed["error"]
    assert all("token" not in str(r["body"]).lower() for r in received)
    # Delivered: nothing more is sent, and the log says so.
    settle()
    log = client.get(f"/api/webhooks/{made['id']}/deliveries").get_json()["items"]
    assert {d["status"] for d in log} == {"delivered"} and all(d["tries"][0]["status_code"] == 200 for d in log)


def test_an_endpoint_gets_only_the_events_it_asked_for(client, sandbox_channels, sandbox_client, drain, receiver):
    hook = receiver()
    hook.secrets = [endpoint(client, hook.url, events=["post.failed"])["secret"]]
    sandbox_client.configure(facebook={"fail": {"error": "bad_parameter", "times": 1}})
    client.post("/api/posts", json={"text": "Only the failure", "networks": ["facebook"], "publish": True})
    drain()
    hook.wait_for(1)
    assert hook.types() == ["post.failed"]
    with db.database.connection_context():
        assert [e.type for e in OutboxEvent.select()] == ["post.failed"]


def test_a_500_is_tried_again_with_the_same_webhook_id_and_retry_after_is_honoured(
        client, sandbox_channels, drain, receiver, fast_retries, settle):
    hook = receiver(answers=[(500, {}), (503, {"Retry-After": "1"}), (200, {})])
    hook.secrets = [endpoint(client, hook.url, events=["post.published"])["secret"]]
    client.post("/api/posts", json={"text": "Third time lucky", "networks": ["facebook"], "publish": True})
    drain()
    tries = hook.wait_for(3)
    assert len({t["id"] for t in tries}) == 1
    stamps = [int(t["headers"]["webhook-timestamp"]) for t in tries]
    assert stamps[2] - stamps[1] >= 1  # waited for Retry-After, not the 0.2 s schedule
    settle()
    with db.database.connection_context():
        [delivery] = WebhookDelivery.select()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)


def test_a_410_turns_the_endpoint_off(client, sandbox_channels, drain, receiver, settle):
    hook = receiver(answers=[(410, {})])
    made = endpoint(client, hook.url, events=["post.published"])
    hook.secrets = [made["secret"]]
    client.post("/api/posts", json={"text": "Gone", "networks": ["facebook"], "publish": True})
    drain()
    hook.wait_for(1)
    settle()
    shown = client.get(f"/api/webhooks/{made['id']}").get_json()
    assert shown["enabled"] is False and "410 Gone" in shown["disabled_reason"]
    client.post("/api/posts", json={"text": "Not sent", "networks": ["facebook"], "publish": True})
    drain()
    settle()
    assert len(hook.received) == 1


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(client, sandbox_channels, drain, receiver):
    hook = receiver()
    made = endpoint(client, hook.url, events=["post.published"])
    rotated = client.post(f"/api/webhooks/{made['id']}/rotate")
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert new != made["secret"] and rotated.get_json()["previous_secret_until"]
    hook.secrets = [made["secret"], new]
    client.post("/api/posts", json={"text": "Both keys", "networks": ["facebook"], "publish": True})
    drain()
    [request] = hook.wait_for(1)
    assert request["verified_with"] == [0, 1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2


def test_a_rolled_back_change_writes_no_event_and_sends_nothing(app, sandbox_channels, receiver, client):
    hook = receiver()
    endpoint(client, hook.url)
    post_id = client.post("/api/posts", json={"text": "Never failed", "networks": ["facebook"]}).get_json()["id"]
    sent = []
    with db.database.connection_context():
        with pytest.raises(RuntimeError):
            with write_transaction():
                events.emit(events.POST_FAILED, post_id)
                db.after_commit(lambda: sent.append("sent"))
                raise RuntimeError("the status change failed")
        assert OutboxEvent.select().count() == 0 and sent == []
        with write_transaction():
            db.after_commit(lambda: sent.append("sent"))
            assert sent == []  # not before the commit
        assert sent == ["sent"]


def test_a_delivery_whose_message_was_lost_is_re_driven_once(
        client, sandbox_channels, drain, receiver, monkeypatch, broker, settle):
    hook = receiver()
    hook.secrets = [endpoint(client, hook.url, events=["post.published"])["secret"]]
    monkeypatch.setattr(events, "send", lambda delivery_id: None)  # the process died after the commit
    client.post("/api/posts", json={"text": "Lost message", "networks": ["facebook"], "publish": True})
    drain()
    assert hook.received == []
    with db.database.connection_context():
        later = utcnow() + dt.timedelta(minutes=2)
        send = broker.get_actor("deliver_webhook").send
        assert sending.OUTBOX.redrive(send, now=later) == 1
        assert sending.OUTBOX.redrive(send, now=later) == 0  # a second reconciler finds nothing to re-drive
    hook.wait_for(1)
    settle()
    assert len(hook.received) == 1 and hook.received[0]["verified_with"] == [0]


@pytest.mark.settings(outbound_allow=())
def test_an_address_deliveries_may_not_reach_is_refused_when_registered_naming_the_setting(
        client, form_client, monkeypatch):
    refused = client.post("/api/webhooks", json={"url": "http://10.1.2.3/hooks"})
    error = refused.get_json()["error"]
    assert refused.status_code == 422 and error["field"] == "url"
    assert "10.1.2.3 is a private address" in error["message"]
    assert "SOCIALPUB_OUTBOUND_ALLOW=10.1.2.3:80 " in error["message"]
    local = client.post("/api/webhooks", json={"url": "https://localhost:8443/hooks"}).get_json()["error"]
    assert local["field"] == "url" and "localhost is a loopback address" in local["message"]
    assert "SOCIALPUB_OUTBOUND_ALLOW=127.0.0.1:8443 " in local["message"]
    mapped = client.post("/api/webhooks", json={"url": "http://[::ffff:169.254.169.254]:81/"}).get_json()["error"]
    assert "SOCIALPUB_OUTBOUND_ALLOW=169.254.169.254:81 " in mapped["message"]
    assert WebhookEndpoint.select().count() == 0
    # A host name is not resolved on the request path (no DNS wait): its delivery checks it.
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: pytest.fail("DNS asked on the request path"))
    made = endpoint(client, "https://hooks.example.com/x")
    # An edit is checked the same way, and the form gives the input back with the reason.
    moved = client.patch(f"/api/webhooks/{made['id']}", json={"url": "http://192.168.1.9:8080/x"})
    assert moved.status_code == 422 and "192.168.1.9:8080" in moved.get_json()["error"]["message"]
    assert client.get(f"/api/webhooks/{made['id']}").get_json()["url"] == "https://hooks.example.com/x"
    page = form_client.post("/webhooks", data={"url": "http://10.0.0.7:9000/in"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'value="http://10.0.0.7:9000/in"' in text
    assert "SOCIALPUB_OUTBOUND_ALLOW=10.0.0.7:9000" in text


@pytest.mark.settings(outbound_allow=("127.0.0.1/32", "10.1.2.3:80"))
def test_an_address_the_setting_allows_is_accepted(client):
    assert endpoint(client, "http://10.1.2.3/hooks")["url"] == "http://10.1.2.3/hooks"
    assert client.post("/api/webhooks", json={"url": "http://10.1.2.3:81/hooks"}).status_code == 422


def test_a_private_address_is_refused_at_delivery_unless_allowed(client, sandbox_channels, drain, settle):
    # Registered while the setting allowed it (or a host name that now resolves to it): each delivery checks.
    with db.database.connection_context():
        made = {"id": WebhookEndpoint.create(url="http://10.1.2.3/hooks", secret=endpoints.new_secret(),
                                             events=["post.published"]).id}
    client.post("/api/posts", json={"text": "Not to a private address", "networks": ["facebook"],
                                    "publish": True})
    drain()
    settle()
    [delivery] = client.get(f"/api/webhooks/{made['id']}/deliveries").get_json()["items"]
    assert "10.1.2.3 is a private address" in delivery["tries"][0]["excerpt"]
    assert delivery["status"] == "failed" and "SOCIALPUB_OUTBOUND_ALLOW" in delivery["last_error"]


def test_send_again_resends_a_delivered_event_with_its_webhook_id(client, sandbox_channels, drain, receiver,
                                                                   settle):
    hook = receiver()
    made = endpoint(client, hook.url, events=["post.published"])
    client.post("/api/posts", json={"text": "Again", "networks": ["facebook"], "publish": True})
    drain()
    [first] = hook.wait_for(1)
    settle()
    [delivery] = client.get(f"/api/webhooks/{made['id']}/deliveries").get_json()["items"]
    again = client.post(f"/api/webhooks/{made['id']}/deliveries/{delivery['id']}/resend")
    assert again.status_code == 202
    second = hook.wait_for(2)[1]
    assert second["id"] == first["id"] == delivery["webhook_id"]


def test_webhook_settings_are_checked_and_the_secret_is_never_shown_again(client, member):
    bad = client.post("/api/webhooks", json={"url": "ftp://example.com/x"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "url"
    wrong = client.post("/api/webhooks", json={"url": "https://example.com/x", "events": ["post.exploded"]})
    assert wrong.status_code == 400 and "post.exploded" in wrong.get_json()["error"]["message"]
    made = endpoint(client, "https://example.com/hooks")
    assert "secret" not in client.get(f"/api/webhooks/{made['id']}").get_json()
    assert all("secret" not in w for w in client.get("/api/webhooks").get_json()["items"])
    assert member("editor").get("/api/webhooks").status_code == 403
    assert client.patch(f"/api/webhooks/{made['id']}", json={"enabled": False}).get_json()["enabled"] is False
    assert client.delete(f"/api/webhooks/{made['id']}").status_code == 204
    assert client.get(f"/api/webhooks/{made['id']}").status_code == 404


def test_the_webhooks_page_adds_an_endpoint_shows_its_secret_once_and_its_log(form_client, sandbox_channels,
                                                                              drain, receiver, settle):
    hook = receiver()
    page = form_client.post("/webhooks", data={"url": hook.url, "description": "Our CRM",
                                               "events": ["post.published"]})
    text = page.get_data(as_text=True)
    secret = re.search(r'id="new-secret-value">(whsec_[^<]+)<', text).group(1)
    hook.secrets = [secret]
    assert secret not in form_client.get("/webhooks").get_data(as_text=True)
    refused = form_client.post("/webhooks", data={"url": "not a url"})
    assert refused.status_code == 400 and 'value="not a url"' in refused.get_data(as_text=True)
    form_client.post("/api/posts", json={"text": "Logged", "networks": ["facebook"], "publish": True})
    drain()
    hook.wait_for(1)
    settle()
    endpoint_id = int(re.search(r'href="/webhooks/(\d+)"', form_client.get("/webhooks").get_data(as_text=True))
                      .group(1))
    log = form_client.get(f"/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "post.published" in log and hook.received[0]["id"] in log and "delivered" in log


def test_a_rolled_back_savepoint_drops_what_it_registered(app):
    sent = []
    with db.database.connection_context():
        with write_transaction():
            db.after_commit(lambda: sent.append("outer"))
            with pytest.raises(RuntimeError):
                with write_transaction():
                    db.after_commit(lambda: sent.append("inner"))
                    raise RuntimeError("the inner step failed")
    assert sent == ["outer"]


def test_a_second_rotation_waits_for_the_first_ones_overlap(client):
    made = endpoint(client, "https://example.com/hooks")
    assert client.post(f"/api/webhooks/{made['id']}/rotate").status_code == 200
    again = client.post(f"/api/webhooks/{made['id']}/rotate")
    assert again.status_code == 409 and "previous secret still signs" in again.get_json()["error"]["message"]


def test_a_slow_endpoint_makes_the_delivery_give_up_before_its_lease_so_it_is_not_sent_twice(
        app, settings, sandbox_channels, client, monkeypatch):
    slow = Trickler(slow_server.response(), pause=0.1)  # about 9 s in all, 100 ms a byte
    monkeypatch.setattr(sending, "TIMEOUT_S", 1.0)  # scaled down from 15 s and 60 s
    monkeypatch.setattr(sending, "OUTBOX", replace(sending.OUTBOX, lease=dt.timedelta(seconds=2)))
    monkeypatch.setattr(events, "send", lambda delivery_id: None)  # tried below, by hand
    endpoint(client, slow.url + "/hooks", events=["post.failed"])
    post_id = client.post("/api/posts", json={"text": "Slowly told", "networks": ["facebook"]}).get_json()["id"]
    with db.database.connection_context():
        with write_transaction():
            events.emit(events.POST_FAILED, post_id)
        [delivery_id] = [d.id for d in WebhookDelivery.select()]
    took = {}

    def deliver(name):
        started = time.monotonic()
        with db.database.connection_context():
            took[name] = (sending.deliver(delivery_id, settings), time.monotonic() - started)

    try:
        first = threading.Thread(target=deliver, args=("first",))
        first.start()
        # Past the lease, another worker (a re-driven message) may take a delivery still "sending".
        time.sleep(2.2)
        second = threading.Thread(target=deliver, args=("second",))
        second.start()
        for thread in (first, second):
            thread.join(30)
    finally:
        slow.close()
    assert len(slow.requests) == 1
    assert took["first"][1] < 2 and took["first"][0] is not None  # gave up in time; tried again later
    assert took["second"][0] is None
    with db.database.connection_context():
        delivery = WebhookDelivery.get_by_id(delivery_id)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "no answer within the 1 s allowed" in delivery.last_error


@pytest.mark.parametrize("description", ["Our\x00CRM", "Our \ud800 CRM"])
def test_a_description_no_database_stores_is_refused_naming_the_field(client, form_client, description):
    made = client.post("/api/webhooks", json={"url": "https://example.com/hooks", "description": description})
    assert made.status_code == 400 and made.get_json()["error"]["field"] == "description", made.get_json()
    existing = endpoint(client, "https://example.com/hooks")
    changed = client.patch(f"/api/webhooks/{existing['id']}", json={"description": description})
    assert changed.status_code == 400 and changed.get_json()["error"]["field"] == "description", changed.get_json()
    if "\x00" in description:  # a form cannot carry a lone surrogate
        page = form_client.post("/webhooks", data={"url": "https://example.com/other", "description": description})
        assert page.status_code == 400 and "description: " in page.get_data(as_text=True)
        assert 'value="https://example.com/other"' in page.get_data(as_text=True)  # the form comes back as typed
    with db.database.connection_context():
        assert [e.description for e in WebhookEndpoint.select()] == [""]


def test_a_leaked_previous_secret_stops_signing_at_once_when_an_admin_revokes_it(
        client, member, sandbox_channels, drain, receiver, settle):
    hook = receiver()
    made = endpoint(client, hook.url, events=["post.published"])
    new = client.post(f"/api/webhooks/{made['id']}/rotate").get_json()["secret"]
    assert member("editor").post(f"/api/webhooks/{made['id']}/revoke_previous").status_code == 403
    revoked = client.post(f"/api/webhooks/{made['id']}/revoke_previous")
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["previous_secret_until"] is None and "secret" not in revoked.get_json()
    hook.secrets = [made["secret"], new]
    client.post("/api/posts", json={"text": "New key only", "networks": ["facebook"], "publish": True})
    drain()
    [request] = hook.wait_for(1)
    assert request["verified_with"] == [1] and len(request["headers"]["webhook-signature"].split(" ")) == 1
    again = client.post(f"/api/webhooks/{made['id']}/revoke_previous")
    assert again.status_code == 409 and "no previous secret" in again.get_json()["error"]["message"]
    # Revoked, the previous secret no longer holds a rotation back: the current one can be replaced now too.
    assert client.post(f"/api/webhooks/{made['id']}/rotate").status_code == 200
    with db.database.connection_context():
        trail = [(e["action"], e["actor"]) for e in audit.trail(audit.WEBHOOK, made["id"])]
    assert ("previous secret revoked", TEST_EMAIL) in trail


def test_the_webhooks_page_revokes_the_previous_secret_during_a_rotation(form_client, client):
    made = endpoint(client, "https://example.com/hooks")
    page = form_client.get("/webhooks").get_data(as_text=True)
    assert "Stop signing with the previous secret" not in page  # no rotation, nothing to revoke
    form_client.post(f"/webhooks/{made['id']}/rotate")
    page = form_client.get("/webhooks").get_data(as_text=True)
    assert f'action="/webhooks/{made["id"]}/revoke_previous"' in page
    done = form_client.post(f"/webhooks/{made['id']}/revoke_previous", follow_redirects=True)
    assert done.status_code == 200 and "only the new secret signs" in done.get_data(as_text=True)
    assert client.get(f"/api/webhooks/{made['id']}").get_json()["previous_secret_until"] is None
    again = form_client.post(f"/webhooks/{made['id']}/revoke_previous", follow_redirects=True)
    assert "no previous secret" in again.get_data(as_text=True)


def test_a_test_event_goes_signed_to_that_endpoint_alone_and_shows_in_its_log(
        client, form_client, drain, receiver, settle):
    hook, other = receiver(), receiver()
    made = endpoint(client, hook.url, events=["post.failed"])  # a test event ignores the endpoint's filter
    hook.secrets = [made["secret"]]
    endpoint(client, other.url)
    sent = client.post(f"/api/webhooks/{made['id']}/test")
    assert sent.status_code == 202 and sent.get_json()["event_type"] == "webhook.test"
    drain()
    [got] = hook.wait_for(1)
    assert got["verified_with"] == [0] and got["id"] == sent.get_json()["webhook_id"]
    assert got["body"]["type"] == "webhook.test"
    assert got["body"]["data"] == {"endpoint_id": made["id"], "url": hook.url}
    settle()
    assert other.received == []
    [logged] = client.get(f"/api/webhooks/{made['id']}/deliveries").get_json()["items"]
    assert logged["status"] == "delivered" and logged["tries"][0]["status_code"] == 200
    # The page's button: to the log, where it is listed.
    assert "Send test event" in form_client.get("/webhooks").get_data(as_text=True)
    page = form_client.post(f"/webhooks/{made['id']}/test", follow_redirects=True)
    assert page.status_code == 200 and "A test event (webhook.test) is on its way" in page.get_data(as_text=True)
    drain()
    hook.wait_for(2)
    settle()
    assert "webhook.test" in form_client.get(f"/webhooks/{made['id']}").get_data(as_text=True)


def test_a_test_event_is_not_sent_to_an_endpoint_turned_off(client, form_client):
    made = endpoint(client, "https://hooks.example.com/x", enabled=False)
    refused = client.post(f"/api/webhooks/{made['id']}/test")
    assert refused.status_code == 409 and "turn it on" in refused.get_json()["error"]["message"]
    assert "Send test event" not in form_client.get("/webhooks").get_data(as_text=True)
    page = form_client.post(f"/webhooks/{made['id']}/test", follow_redirects=True)
    assert "No test event sent" in page.get_data(as_text=True)
    assert client.get(f"/api/webhooks/{made['id']}/deliveries").get_json()["items"] == []
    assert client.post("/api/webhooks/999999/test").status_code == 404
