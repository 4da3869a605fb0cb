"""The Instagram adapter against the sandbox: the container flow, its checkpoint, and resuming or adopting a container."""

import pytest
import requests

from socialpub.networks import LIMITS, Content, ErrorKind, PublishError, get_adapter
from socialpub.networks.base import Photo
from socialpub.networks.instagram import InstagramAdapter

from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import (
    all_requests,
    configure,
    image_url,
    publish_error,
    received,
    target,
    utcnow,
)


def test_instagram_publishes_the_image_through_a_finished_container(sandbox):
    content = Content("Morning light #photo", image_url=image_url(sandbox))
    published = get_adapter("instagram").publish(target(sandbox, "instagram"), content)
    [item] = received(sandbox)
    assert (item["item_id"], item["text"], item["image"]) == \
        (published.external_id, "Morning light #photo", image_url(sandbox))
    assert published.url.startswith("https://www.instagram.com/p/")  # its permalink, asked after publishing
    paths = [r["path"].split("/")[-1] for r in all_requests(sandbox)]
    # The container, its status, media_publish, then the permalink of the published media.
    assert paths[0] == "media" and paths[2] == "media_publish" and paths[3] == published.external_id
    assert len(paths) == 4


def test_instagram_without_an_image_is_refused_by_limits_and_by_the_adapter(sandbox):
    content = Content("Text only")
    assert ("image_url", "an image is required") in LIMITS["instagram"].problems(content)
    error = publish_error(sandbox, "instagram", content)
    assert error.kind is ErrorKind.PERMANENT
    assert all_requests(sandbox) == []


def test_instagram_container_still_in_progress_is_transient_and_keeps_the_container_id(sandbox):
    configure(sandbox, {"instagram": {"container_status": "IN_PROGRESS"}})
    adapter = InstagramAdapter(poll_timeout=0.2, poll_interval=0.05)
    with pytest.raises(PublishError) as caught:
        adapter.publish(target(sandbox, "instagram"), Content("c", image_url=image_url(sandbox)))
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.container_id and "IN_PROGRESS" in caught.value.message
    polls = [r for r in all_requests(sandbox) if r["method"] == "GET"]
    assert len(polls) >= 2
    assert received(sandbox) == []


def test_instagram_container_in_error_is_permanent_and_names_the_status(sandbox):
    configure(sandbox, {"instagram": {"container_status": "ERROR"}})
    error = publish_error(sandbox, "instagram")
    assert error.kind is ErrorKind.PERMANENT and "ERROR" in error.message
    assert error.container_id


def test_instagram_published_container_is_not_published_again(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    container = adapter.create_container(to, Content("once", image_url=image_url(sandbox)))
    first = adapter.publish_container(to, container)
    again = adapter.publish_container(to, container)
    assert first.external_id != container and again.external_id == container
    assert len(received(sandbox)) == 1


def media_publishes(sandbox):
    return [r for r in all_requests(sandbox) if r["path"].endswith("/media_publish")]


def container_status(sandbox, container_id):
    return requests.get(f"{sandbox.url}/v24.0/{container_id}", timeout=5,
                        params={"fields": "status_code", "access_token": "t"}).json().get("status_code")


def test_instagram_checkpoints_the_container_before_publishing_it(sandbox):
    seen = []

    def checkpoint(state):
        # What the sandbox has seen when the checkpoint is written.
        seen.append((state, container_status(sandbox, state["container_id"]), media_publishes(sandbox)))

    published = get_adapter("instagram").publish(target(sandbox, "instagram"),
                                                 Content("c", image_url=image_url(sandbox)),
                                                 checkpoint=checkpoint)
    [(state, status, publishes_then)] = seen
    assert set(state) == {"container_id"} and status == "FINISHED" and publishes_then == []
    assert len(media_publishes(sandbox)) == 1
    assert received(sandbox)[0]["item_id"] == published.external_id


def test_instagram_publishes_nothing_when_the_checkpoint_fails(sandbox):
    def checkpoint(state):
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        get_adapter("instagram").publish(target(sandbox, "instagram"),
                                         Content("c", image_url=image_url(sandbox)), checkpoint=checkpoint)
    assert media_publishes(sandbox) == [] and received(sandbox) == []


def test_instagram_resume_adopts_a_published_container_without_publishing_again(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content = Content("Adopt me", image_url=image_url(sandbox))
    configure(sandbox, {"instagram": {"fail": {"error": "drop_after_record"}}})
    checkpoints = []
    started = utcnow()
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, content, checkpoint=checkpoints.append)
    [resume] = checkpoints
    assert caught.value.ambiguous and caught.value.container_id == resume["container_id"]
    [item] = received(sandbox)

    found = adapter.find_published(to, content, started, resume=resume)
    again = adapter.publish(to, content, resume=resume, checkpoint=checkpoints.append)
    assert found.external_id == again.external_id == item["item_id"]  # the media id, not the container's
    assert len(received(sandbox)) == 1 and len(media_publishes(sandbox)) == 1
    assert len(checkpoints) == 1  # no new container


def test_instagram_resume_publishes_a_finished_container_without_creating_another(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content = Content("Left finished", image_url=image_url(sandbox))
    container = adapter.create_container(to, content)
    checkpoints = []
    published = adapter.publish(to, content, resume={"container_id": container},
                                checkpoint=checkpoints.append)
    assert checkpoints == [] and container_status(sandbox, container) == "PUBLISHED"
    assert received(sandbox)[0]["item_id"] == published.external_id
    assert len([r for r in all_requests(sandbox) if r["path"].endswith("/media")]) == 1


def test_instagram_resume_keeps_polling_a_container_in_progress(sandbox):
    to = target(sandbox, "instagram")
    container = get_adapter("instagram").create_container(to, Content("c", image_url=image_url(sandbox)))
    configure(sandbox, {"instagram": {"container_status": "IN_PROGRESS"}})
    adapter = InstagramAdapter(poll_timeout=0.2, poll_interval=0.05)
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, Content("c", image_url=image_url(sandbox)), resume={"container_id": container})
    assert (caught.value.kind, caught.value.container_id) == (ErrorKind.TRANSIENT, container)
    assert len([r for r in all_requests(sandbox) if r["path"].endswith("/media")]) == 1


def test_instagram_resume_replaces_a_container_graph_does_not_know(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    checkpoints = []
    published = adapter.publish(to, Content("Try again", image_url=image_url(sandbox)),
                                resume={"container_id": "17999999999999999"}, checkpoint=checkpoints.append)
    [state] = checkpoints
    assert state["container_id"] != "17999999999999999"
    assert received(sandbox)[0]["item_id"] == published.external_id


@pytest.mark.parametrize("status", ["EXPIRED", "ERROR"])
def test_instagram_resume_replaces_a_failed_container(sandbox, status):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content = Content("Try again", image_url=image_url(sandbox))
    old = adapter.create_container(to, content)
    configure(sandbox, {"instagram": {"container_status": status}})
    checkpoints = []
    with pytest.raises(PublishError) as caught:  # the status setting applies to the new container too
        adapter.publish(to, content, resume={"container_id": old}, checkpoint=checkpoints.append)
    [state] = checkpoints
    assert state["container_id"] != old and caught.value.container_id == state["container_id"]


def test_instagram_find_published_is_none_until_the_container_is_published(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content, since = Content("Later", image_url=image_url(sandbox)), utcnow()
    container = adapter.create_container(to, content)
    assert adapter.find_published(to, content, since) is None
    assert adapter.find_published(to, content, since, resume={"container_id": container}) is None
    assert adapter.find_published(to, content, since, resume={"container_id": "17999999999999999"}) is None
    published = adapter.publish_container(to, container)
    assert adapter.find_published(to, content, since, resume={"container_id": container}) == published


@pytest.mark.parametrize("path", ["/no-such-photo.jpg", "/_sandbox/config"])
def test_a_photo_link_instagram_cannot_fetch_fails_permanently_naming_the_link(sandbox, path):
    link = f"{sandbox.url}{path}"  # nothing there, then JSON: not an image
    error = publish_error(sandbox, "instagram", Content("Unreachable", image_url=link))
    assert (error.kind, error.code, error.subcode) == (ErrorKind.PERMANENT, "9004", "2207052")
    assert f"could not fetch the photo at {link}" in error.message
    assert error.container_id is None and received(sandbox) == []


def test_a_carousel_photo_instagram_cannot_fetch_fails_permanently_naming_it_and_its_place(sandbox):
    good, bad = image_url(sandbox), f"{sandbox.url}/gone.jpg"
    photos = tuple(Photo("image/jpeg", 64, 64, public_url=url) for url in (good, bad))
    with pytest.raises(PublishError) as caught:
        get_adapter("instagram").publish(target(sandbox, "instagram"), Content("Two", photos=photos))
    assert (caught.value.kind, caught.value.subcode) == (ErrorKind.PERMANENT, "2207052")
    assert f"could not fetch image 2 of the carousel at {bad}" in caught.value.message
    assert received(sandbox) == []
