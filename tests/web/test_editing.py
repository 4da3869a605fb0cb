"""Edit, delete and duplicate posts through the API: an edit is checked as a
new post is and replaces what has not gone out; once publishing started,
409s that say why; racing the scheduler's launch, exactly one side wins — a
cancelled or deleted post is never published, and an edit answered 200 is
what goes out."""
import datetime as dt
import random
import threading
import time

import pytest

from socialpub import audit, db
from socialpub.lifecycle import scheduling
from socialpub.models import Event, Post, PostMedia, Publication, PublicationStatus, utcnow
from tests.web.test_media import photo, upload


def iso_in(minutes):
    return (utcnow() + dt.timedelta(minutes=minutes)).replace(microsecond=0).isoformat() + "Z"


@pytest.fixture
def draft(client, sandbox_channels, sandbox):
    def make(**fields):
        fields.setdefault("text", "A draft")
        fields.setdefault("networks", ["facebook", "linkedin"])
        response = client.post("/api/posts", json=fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return make


def test_an_edit_changes_the_text_channels_and_photos_of_a_draft(client, draft, sandbox_channels):
    post = draft()
    media = upload(client, photo()).get_json()["id"]
    response = client.patch(f"/api/posts/{post['id']}", json={
        "text": "Edited #now", "networks": ["facebook", "whatsapp"], "media_ids": [media],
        "overrides": {"whatsapp": "Edited for WhatsApp"}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["text"] == "Edited #now" and body["status"] == "draft"
    assert {p["network"]: p["text"] for p in body["publications"]} == {
        "facebook": "Edited #now", "whatsapp": "Edited for WhatsApp"}
    assert [m["id"] for m in body["media"]] == [media]
    # Fields not named stay as they were: the channels, photos and overrides.
    again = client.patch(f"/api/posts/{post['id']}", json={"link": "https://example.com/more"}).get_json()
    assert {p["network"] for p in again["publications"]} == {"facebook", "whatsapp"}
    assert [m["id"] for m in again["media"]] == [media] and again["link"] == "https://example.com/more"


def test_an_edit_that_schedules_is_checked_as_a_new_post_and_a_refused_one_changes_nothing(client, draft):
    post = draft()
    refused = client.patch(f"/api/posts/{post['id']}", json={"text": "x" * 3001, "scheduled_at": iso_in(60)})
    assert refused.status_code == 422 and "linkedin" in refused.get_json()["error"]["message"]
    unknown = client.patch(f"/api/posts/{post['id']}", json={"publish": True})
    assert unknown.status_code == 400 and unknown.get_json()["error"]["field"] == "publish"
    assert client.get(f"/api/posts/{post['id']}").get_json()["text"] == "A draft"


def test_an_edit_can_schedule_move_and_unschedule(client, draft):
    post = draft()
    at = iso_in(120)
    scheduled = client.patch(f"/api/posts/{post['id']}", json={"text": "Later", "scheduled_at": at}).get_json()
    assert scheduled["status"] == "scheduled" and scheduled["scheduled_at_utc"].startswith(at[:16])
    text_only = client.patch(f"/api/posts/{post['id']}", json={"text": "Later, edited"}).get_json()
    assert text_only["status"] == "scheduled" and text_only["scheduled_at_utc"] == scheduled["scheduled_at_utc"]
    back = client.patch(f"/api/posts/{post['id']}", json={"scheduled_at": None}).get_json()
    assert back["status"] == "draft" and back["scheduled_at"] is None


def test_an_edit_wins_until_a_worker_claims_then_edits_and_deletes_are_refused_naming_the_channels(
        client, draft):
    post = draft()
    assert client.post(f"/api/posts/{post['id']}/publish").status_code == 202
    # Queued, no network call yet: the edit takes it back, a draft again.
    taken_back = client.patch(f"/api/posts/{post['id']}", json={"text": "Just in time"})
    assert taken_back.status_code == 200 and taken_back.get_json()["status"] == "draft"
    assert client.post(f"/api/posts/{post['id']}/publish").status_code == 202
    with db.database.connection_context():  # as a worker's claim does, the moment before its network call
        Publication.update(status="processing", attempts=1).where(Publication.post == post["id"]).execute()
    edit = client.patch(f"/api/posts/{post['id']}", json={"text": "Too late"})
    assert edit.status_code == 409 and "publishing started on" in edit.get_json()["error"]["message"]
    delete = client.delete(f"/api/posts/{post['id']}")
    assert delete.status_code == 409 and "publishing started on" in delete.get_json()["error"]["message"]


def test_delete_removes_an_unsent_post_and_keeps_a_published_ones_record_unless_asked(
        client, draft, publish_and_drain):
    post = draft()
    assert client.delete(f"/api/posts/{post['id']}").status_code == 204
    assert client.get(f"/api/posts/{post['id']}").status_code == 404
    with db.database.connection_context():
        assert Publication.select().where(Publication.post == post["id"]).count() == 0
    published = publish_and_drain(networks=["facebook"])
    kept = client.delete(f"/api/posts/{published}")
    assert kept.status_code == 409 and "include_history=true" in kept.get_json()["error"]["message"]
    assert client.delete(f"/api/posts/{published}?include_history=maybe").status_code == 400
    assert client.delete(f"/api/posts/{published}?include_history=true").status_code == 204
    assert client.get(f"/api/posts/{published}").status_code == 404


def test_duplicate_makes_a_new_draft_with_the_same_content(client, draft):
    media = upload(client, photo()).get_json()["id"]
    post = draft(text="Original", media_ids=[media], overrides={"linkedin": "For LinkedIn"},
                 scheduled_at=iso_in(90))
    copy = client.post(f"/api/posts/{post['id']}/duplicate")
    assert copy.status_code == 201, copy.get_json()
    body = copy.get_json()
    assert body["id"] != post["id"] and body["status"] == "draft" and body["scheduled_at"] is None
    assert {p["network"]: p["text"] for p in body["publications"]} == {"facebook": "Original",
                                                                      "linkedin": "For LinkedIn"}
    assert [m["id"] for m in body["media"]] == [media]
    assert client.post("/api/posts/999999/duplicate").status_code == 404


#: Rounds of each race: enough for each side to win some (it is timing: each round's odds are 1 in 5 or better).
ROUNDS = 40


def launch_now(post_id, scheduled_at):
    """The scheduler's launch of a post due now, as the sweep calls it."""
    with db.database.connection_context():
        return scheduling.launch(post_id, scheduled_at, max_lateness=None)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("action", ["cancel", "delete", "edit"])
def test_a_cancel_delete_or_edit_wins_over_the_schedulers_launch_while_no_network_call_started(
        client, draft, broker, action):
    """Many times over: a scheduled post, and at once its launch and a person's
    cancel, delete or edit. No worker runs, so no network call starts: the
    person wins every round — before the launch, or after it by taking the
    launched post back (scheduling.recall) —, and the post is then what the
    person asked: not queued after a cancel or a delete, edited after an edit."""
    outcomes = {"person first": 0, "launched first": 0}
    # The person's request takes longer to reach the database than the launch, by
    # how much depends on the request and on the machine's load (other tests run
    # beside this one): a fixed head start lets one side come first every round. So the
    # scheduler's delay adapts, round by round — doubled after a round it came first,
    # halved after one the person did — with a random spread around it.
    jitter, delay = random.Random(action), 0.002
    for round_ in range(ROUNDS):
        head_start = jitter.uniform(0.5, 1.5) * delay
        post = draft(text=f"Race {action} {round_}", scheduled_at=iso_in(30))
        with db.database.connection_context():
            scheduled_at = Post.get_by_id(post["id"]).scheduled_at
        barrier, answers = threading.Barrier(2), {}

        def person():
            barrier.wait()
            if action == "cancel":
                answers["person"] = client.post(f"/api/posts/{post['id']}/cancel")
            elif action == "delete":
                answers["person"] = client.delete(f"/api/posts/{post['id']}")
            else:
                answers["person"] = client.patch(f"/api/posts/{post['id']}", json={"text": f"Edited {round_}"})

        def scheduler():
            barrier.wait()
            time.sleep(head_start)
            answers["scheduler"] = launch_now(post["id"], scheduled_at)

        threads = [threading.Thread(target=person), threading.Thread(target=scheduler)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        launched = answers["scheduler"]
        assert answers["person"].status_code in (200, 204), (round_, answers["person"].get_json())
        with db.database.connection_context():
            row = Post.get_or_none(Post.id == post["id"])
            texts = {p.status: p.text for p in Publication.select().where(Publication.post == post["id"])}
            taken_back = Event.select().where((Event.subject == audit.POST) & (Event.subject_id == post["id"])
                                              & (Event.action == "taken back before it went out")).exists()
        assert taken_back == launched or (action == "edit" and launched)  # an edit's post may launch after it
        if action in ("cancel", "delete"):
            assert set(texts) <= {PublicationStatus.PENDING} and (row is None or row.status == "draft")
        else:
            assert row.text == f"Edited {round_}" and set(texts.values()) == {f"Edited {round_}"}
            # Due within the launch horizon, the edited post is launched again at once.
            assert set(texts) <= {PublicationStatus.QUEUED, PublicationStatus.PENDING}
        outcomes["launched first" if taken_back else "person first"] += 1
        delay = min(delay * 2, 0.5) if taken_back else max(delay / 2, 0.0001)
    print(f"\n{action} vs launch, {ROUNDS} rounds: {outcomes}")
    assert outcomes["launched first"] and outcomes["person first"], f"one side always came first: {outcomes}"


def test_photos_are_kept_in_order_through_edits(client, draft):
    ids = [upload(client, photo(color=c)).get_json()["id"] for c in ((1, 1, 1), (90, 90, 90))]
    post = draft(media_ids=ids)
    client.patch(f"/api/posts/{post['id']}", json={"media_ids": ids[::-1]})
    with db.database.connection_context():
        assert [m.media_id for m in PostMedia.select().where(PostMedia.post == post["id"])
                .order_by(PostMedia.position)] == ids[::-1]


#: Rounds of the edit-against-edit races, and the most they may take.
EDIT_RACE_ROUNDS, EDIT_RACE_SECONDS = 20, 60


def at_once(*requests):
    """Run each of ``requests`` (callables) in its own thread, released together; their answers."""
    barrier, answers = threading.Barrier(len(requests)), [None] * len(requests)

    def run(i):
        barrier.wait()
        answers[i] = requests[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_two_edits_at_once_without_if_match_keep_both_changes(client, draft):
    """Without If-Match (clients from before it), each edit changes only what it
    names, on the post as it is when it is written: two people changing two
    fields at once both see their change kept."""
    deadline = time.monotonic() + EDIT_RACE_SECONDS
    for round_ in range(EDIT_RACE_ROUNDS):
        assert time.monotonic() < deadline, f"over {EDIT_RACE_SECONDS} s at round {round_}"
        post = draft(text=f"Both {round_}")
        text, link = at_once(
            lambda: client.patch(f"/api/posts/{post['id']}", json={"text": f"New text {round_}"}),
            lambda: client.patch(f"/api/posts/{post['id']}", json={"link": f"https://example.com/{round_}"}))
        assert (text.status_code, link.status_code) == (200, 200), (text.get_json(), link.get_json())
        now = client.get(f"/api/posts/{post['id']}").get_json()
        assert (now["text"], now["link"]) == (f"New text {round_}", f"https://example.com/{round_}"), round_


def test_an_edit_made_on_an_older_version_is_refused_saying_what_changed(client, draft):
    post = draft(text="Version one")
    first = client.get(f"/api/posts/{post['id']}")
    etag = first.headers["ETag"]
    assert etag == f'"{first.get_json()["updated_at"]}"'
    mine = client.patch(f"/api/posts/{post['id']}", json={"text": "Version two"}, headers={"If-Match": etag})
    assert mine.status_code == 200 and mine.headers["ETag"] != etag
    assert mine.headers["ETag"] == client.get(f"/api/posts/{post['id']}").headers["ETag"]
    stale = client.patch(f"/api/posts/{post['id']}", json={"link": "https://example.com/late"},
                         headers={"If-Match": etag})
    assert stale.status_code == 412
    error = stale.get_json()["error"]
    assert error["code"] == "stale" and error["field"] == "If-Match"
    assert error["current_version"] == mine.headers["ETag"] and error["changed"] == ["text"]
    assert [c["fields"] for c in error["changes"]] == [["text"]] and error["changes"][0]["by"]
    assert client.get(f"/api/posts/{post['id']}").get_json()["link"] is None  # nothing written
    # A time alone (a move) is checked the same way; "*" is any version.
    assert client.patch(f"/api/posts/{post['id']}", json={"scheduled_at": iso_in(60)},
                        headers={"If-Match": etag}).status_code == 412
    assert client.patch(f"/api/posts/{post['id']}", json={"scheduled_at": iso_in(60)},
                        headers={"If-Match": "*"}).status_code == 200
    assert client.patch(f"/api/posts/{post['id']}", json={"text": "x"},
                        headers={"If-Match": "yesterday"}).get_json()["error"]["field"] == "If-Match"


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_racing_edits_of_one_version_exactly_one_is_kept_and_the_other_refused(client, draft):
    deadline = time.monotonic() + EDIT_RACE_SECONDS
    for round_ in range(EDIT_RACE_ROUNDS):
        assert time.monotonic() < deadline, f"over {EDIT_RACE_SECONDS} s at round {round_}"
        post = draft(text=f"One of two {round_}")
        etag = client.get(f"/api/posts/{post['id']}").headers["ETag"]
        answers = at_once(*[
            lambda who=who: client.patch(f"/api/posts/{post['id']}", json={"text": f"{who} {round_}"},
                                         headers={"If-Match": etag}) for who in ("Ana", "Ben")])
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 412], [a.get_json() for a in answers]
        winner = next(a for a in answers if a.status_code == 200).get_json()["text"]
        with db.database.connection_context():
            assert Post.get_by_id(post["id"]).text == winner
            assert {p.text for p in Publication.select().where(Publication.post == post["id"])} == {winner}
