"""Meta's limits, respected before sending: the messaging limit (unique
people per 24 hours), the pair rate (131056) for one recipient, the number's
throughput (130429), the number stopped for its quality (131064), Meta's
marketing cap for one person (131049)."""
from __future__ import annotations

import datetime as dt

import pytest
import requests

from socialpub import db
from socialpub.lifecycle import delivery
from socialpub.models import Channel, Publication, Recipient, utcnow
from socialpub.whatsapp import broadcast
from tests.support.processes import wait_for
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses


def template_post(client, channel_id, text):
    response = client.post("/api/posts", json={
        "text": text, "channels": [channel_id], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["publications"][0]["id"]


def publication(publication_id):
    with db.database.connection_context():
        return Publication.get_by_id(publication_id)


@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_messaging_limit": 3})
def test_recipients_over_the_messaging_limit_wait_visibly_then_go_once_a_place_frees(
        client, whatsapp, sandbox_client, worker, broker, publish_actor):
    phones = numbers(5)
    add_contacts(client, whatsapp, phones)
    publication_id = template_post(client, whatsapp, "Limited")
    wait_for(lambda: publication(publication_id).status == "retrying", 30, "the publication to wait")
    statuses = recipient_statuses(publication_id)
    assert sorted(statuses.values()) == ["sent", "sent", "sent", "waiting", "waiting"]
    pub = publication(publication_id)
    assert "waiting for a limit" in pub.last_error
    assert pub.next_attempt_at > utcnow() + dt.timedelta(hours=23)
    with db.database.connection_context():
        reasons = {r.error for r in Recipient.select().where(Recipient.status == "waiting")}
        assert len(reasons) == 1 and "messaging limit of 3 people per 24 hours" in reasons.pop()
        # A day passes: the first three no longer count.
        Recipient.update(sending_at=utcnow() - dt.timedelta(hours=25)).where(Recipient.status == "sent").execute()
        Recipient.update(not_before=utcnow()).where(Recipient.status == "waiting").execute()
        assert delivery.wake(publication_id)
    publish_actor.send(publication_id)
    wait_for(lambda: publication(publication_id).status == "published", 30, "the rest to be sent")
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == phones
    broker.flush_all()  # the first wait's delayed message, a day from now


@pytest.mark.settings(**WHATSAPP_SETTINGS)
def test_a_pair_rate_error_holds_back_that_recipient_alone(client, whatsapp, sandbox_client, worker, broker):
    phones = numbers(3)
    add_contacts(client, whatsapp, phones)
    sandbox_client.configure(whatsapp={"refuse": {phones[1]: 131056}})
    publication_id = template_post(client, whatsapp, "Pair rate")
    wait_for(lambda: recipient_statuses(publication_id) == {phones[0]: "sent", phones[1]: "waiting",
                                                            phones[2]: "sent"}, 30, "the others sent")
    with db.database.connection_context():
        held = Recipient.get((Recipient.publication == publication_id) & (Recipient.phone == phones[1]))
    assert "pair rate limit" in held.error and held.not_before > utcnow()
    sandbox_client.configure(whatsapp={"refuse": {}})
    wait_for(lambda: publication(publication_id).status == "published", 30, "the held one to go after its pause")
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == phones


@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_pair_pause_s": 2})
def test_a_person_messaged_a_moment_ago_waits_out_the_pair_rate_before_the_next_post_reaches_them(
        client, whatsapp, sandbox_client, worker):
    """Two posts to the same people one after the other: the second waits the rest of Meta's pause per
    person instead of meeting 131056, and then goes."""
    phones = numbers(2)
    add_contacts(client, whatsapp, phones)
    first = template_post(client, whatsapp, "First")
    wait_for(lambda: publication(first).status == "published", 30, "the first post sent")
    second = template_post(client, whatsapp, "Second")
    wait_for(lambda: set(recipient_statuses(second).values()) == {"waiting"}, 30, "the second post to wait")
    with db.database.connection_context():
        reasons = {r.error for r in Recipient.select().where(Recipient.publication == second)}
    assert len(reasons) == 1 and "pair rate" in reasons.pop()
    wait_for(lambda: publication(second).status == "published", 30, "the second post after the pause")
    sent = [(m["to"], m.get("error")) for m in sandbox_client.received("whatsapp")]
    assert sorted(to for to, _ in sent) == sorted(phones * 2)
    refused = [r for r in sandbox_client.requests() if r.get("code") == "131056"]
    assert refused == []


@pytest.mark.settings(**WHATSAPP_SETTINGS)
def test_a_throughput_error_holds_that_recipient_a_second_while_the_others_go_on_and_each_gets_it_once(
        client, whatsapp, sandbox_client, drain):
    phones = numbers(4)
    add_contacts(client, whatsapp, phones)
    sandbox_client.configure(whatsapp={"refuse": {phones[2]: 130429}})
    publication_id = template_post(client, whatsapp, "Throughput")

    def others_sent_and_one_held():
        with db.database.connection_context():
            rows = {r.phone: r for r in Recipient.select().where(Recipient.publication == publication_id)}
        held = rows.get(phones[2])
        return (len(sandbox_client.received("whatsapp")) == 3 and held is not None and held.status == "waiting"
                and held.error.startswith(broadcast.THROUGHPUT_HOLD))

    wait_for(others_sent_and_one_held, 30, "the three others sent and the refused one held for a second")
    sandbox_client.configure(whatsapp={"refuse": {}})
    drain()
    pub = publication(publication_id)
    assert pub.status == "published" and pub.rate_limit_waits == 0 and pub.retries == 0
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == phones  # each once


# One at a time: 30 sends of 50 ms then outlast half a second; several at once would fit in one attempt.
@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "time_limit_s": 1, "whatsapp_send_concurrency": 1})
def test_a_broadcast_longer_than_its_share_of_the_time_limit_goes_on_in_fresh_messages(
        client, whatsapp, sandbox_client, drain):
    phones = numbers(30)
    add_contacts(client, whatsapp, phones)
    sandbox_client.configure(whatsapp={"latency": 0.05})
    publication_id = template_post(client, whatsapp, "Long")
    drain()
    pub = publication(publication_id)
    assert pub.status == "published" and pub.attempts >= 2
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == phones  # each once


def _stopped_number_hold(publication_id):
    """The publication's waiting rows' reasons, and whether any row failed."""
    with db.database.connection_context():
        rows = list(Recipient.select().where(Recipient.publication == publication_id))
    return {r.error.split(";")[0] for r in rows if r.status == "waiting"}, [r for r in rows if r.status == "failed"]


@pytest.mark.settings(**WHATSAPP_SETTINGS)
def test_a_broadcast_that_meets_131064_holds_the_unsent_recipients_and_finishes_when_the_sandbox_lifts_the_limit(
        client, whatsapp, sandbox_client, worker, broker, publish_actor):
    phones = numbers(4)
    add_contacts(client, whatsapp, phones)
    with db.database.connection_context():
        number = Channel.get_by_id(whatsapp).account_id
    sandbox_client.configure(whatsapp={"limit_reached": [number]})
    publication_id = template_post(client, whatsapp, "Quality limit")
    wait_for(lambda: publication(publication_id).status == "retrying", 30, "the publication to wait")
    assert recipient_statuses(publication_id) == {p: "waiting" for p in phones}
    reasons, failed = _stopped_number_hold(publication_id)
    assert failed == [] and reasons == {"Meta stopped this number: it reached its messaging limit after "
                                        "template-quality violations (131064)"}
    pub = publication(publication_id)
    assert "131064" in pub.last_error and "4 waiting for a limit" in pub.last_error
    assert utcnow() + dt.timedelta(minutes=59) < pub.next_attempt_at <= utcnow() + dt.timedelta(hours=1)
    assert sandbox_client.received("whatsapp") == []
    sandbox_client.configure(whatsapp={"limit_reached": []})
    with db.database.connection_context():  # the hour passes
        Recipient.update(not_before=utcnow()).where(Recipient.publication == publication_id).execute()
        assert delivery.wake(publication_id)
    publish_actor.send(publication_id)
    wait_for(lambda: publication(publication_id).status == "published", 30, "the held ones to go")
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == phones  # each once
    broker.flush_all()  # the wait's delayed message, an hour from now


@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_send_concurrency": 1})
def test_131064_in_mid_broadcast_keeps_those_sent_and_holds_the_rest_without_trying_them(
        client, whatsapp, sandbox_client, worker, broker):
    phones = numbers(4)
    add_contacts(client, whatsapp, phones)
    sandbox_client.configure(whatsapp={"refuse": {phones[1]: 131064}})
    publication_id = template_post(client, whatsapp, "Quality limit midway")
    wait_for(lambda: publication(publication_id).status == "retrying", 30, "the publication to wait")
    assert recipient_statuses(publication_id) == {phones[0]: "sent", phones[1]: "waiting",
                                                  phones[2]: "waiting", phones[3]: "waiting"}
    assert [m["to"] for m in sandbox_client.received("whatsapp")] == [phones[0]]  # the others never tried
    assert _stopped_number_hold(publication_id)[1] == []
    broker.flush_all()


@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_send_concurrency": 3})
def test_131064_with_sends_in_flight_keeps_what_went_and_holds_the_rest_without_starting_more(
        client, whatsapp, sandbox_client, worker, broker):
    phones = numbers(8)
    add_contacts(client, whatsapp, phones)
    sandbox_client.configure(whatsapp={"refuse": {phones[1]: 131064}, "latency": 0.3})
    publication_id = template_post(client, whatsapp, "Quality limit, several at once")
    wait_for(lambda: publication(publication_id).status == "retrying", 30, "the publication to wait")
    statuses = recipient_statuses(publication_id)
    received = [m["to"] for m in sandbox_client.received("whatsapp")]
    # Those already on their way when Meta stopped the number went; no send started after its answer.
    assert statuses[phones[1]] == "waiting" and len(received) == len(set(received)) < 5
    assert {p for p, status in statuses.items() if status == "sent"} == set(received)
    assert {p for p, status in statuses.items() if status != "sent"} == set(phones) - set(received)
    assert set(statuses.values()) == {"sent", "waiting"} and _stopped_number_hold(publication_id)[1] == []
    broker.flush_all()


@pytest.mark.settings(**WHATSAPP_SETTINGS)
def test_131049_fails_that_recipient_alone_and_the_others_go(client, whatsapp, sandbox_client, drain):
    phones = numbers(3)
    add_contacts(client, whatsapp, phones)
    sandbox_client.configure(whatsapp={"refuse": {phones[1]: 131049}})
    publication_id = template_post(client, whatsapp, "Marketing cap")
    drain()
    assert recipient_statuses(publication_id) == {phones[0]: "sent", phones[1]: "failed", phones[2]: "sent"}
    assert publication(publication_id).status == "partly_failed"
    with db.database.connection_context():
        held_back = Recipient.get((Recipient.publication == publication_id) & (Recipient.phone == phones[1]))
    assert held_back.error_code == "131049" and "healthy ecosystem engagement" in held_back.error


def test_the_sandbox_refuses_a_limit_reached_setting_that_is_not_a_list_of_ids(sandbox_client):
    response = requests.post(f"{sandbox_client.url}/_sandbox/config", json={"whatsapp": {"limit_reached": "1"}},
                             timeout=5)
    assert response.status_code == 400 and "limit_reached" in response.text


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_messaging_limit": 3})
def test_two_broadcasts_at_once_reach_no_more_people_than_the_messaging_limit_together(
        client, whatsapp, sandbox_client, worker, broker):
    first, second = numbers(3), numbers(3, start=100)
    add_contacts(client, whatsapp, first, audience="First")
    add_contacts(client, whatsapp, second, audience="Second")
    # Each send takes a while, so that both broadcasts are sending at the same time.
    sandbox_client.configure(whatsapp={"latency": 0.2})
    ids = []
    for audience in ("First", "Second"):
        response = client.post("/api/posts", json={
            "text": f"To {audience}", "channels": [whatsapp], "whatsapp": {
                "template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"], "audience": audience}})
        assert response.status_code == 201, response.get_json()
        ids.append((response.get_json()["id"], response.get_json()["publications"][0]["id"]))
    for post_id, _ in ids:
        assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
    wait_for(lambda: all(publication(p).status in ("retrying", "published") for _, p in ids), 60,
             "both broadcasts to send what they may")
    reached = {m["to"] for m in sandbox_client.received("whatsapp")}
    assert len(reached) == 3, f"{len(reached)} people reached with a messaging limit of 3"
    statuses = [s for _, p in ids for s in recipient_statuses(p).values()]
    assert sorted(statuses) == ["sent"] * 3 + ["waiting"] * 3
    broker.flush_all()  # the waits' delayed messages, a day from now
