"""Uploads in parts (the tus protocol): a real tus client sends a video in parts, an upload cut
mid-way goes on from the offset the server holds, a part sent twice is refused, and what is not a
photo or a video is refused at the end with nothing kept."""
from __future__ import annotations

import base64
import hashlib
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tusclient import client as tus

from socialpub.media import partial
from socialpub.models import Media
from tests.support.videos import make_video

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "clip.mp4", seconds=3, width=360, height=640)


def begin(client, length, name="clip.mp4", prefix="/api"):
    meta = f"filename {base64.b64encode(name.encode()).decode()}"
    response = client.post(f"{prefix}/uploads", headers={**TUS, "Upload-Length": str(length),
                                                         "Upload-Metadata": meta})
    assert response.status_code == 201, response.get_json()
    return response.headers["Location"]


def send_part(client, location, offset, data):
    return client.patch(location, data=data, headers={**TUS, "Upload-Offset": str(offset),
                                                      "Content-Type": "application/offset+octet-stream"})


def test_a_tus_client_sends_a_video_in_parts_and_it_joins_the_library(app, public_server, api_token, clip):
    uploader = tus.TusClient(f"{public_server.url}/api/uploads", headers={"Authorization": f"Bearer {api_token}"}
                             ).uploader(str(clip), chunk_size=32 * 1024, metadata={"filename": "clip.mp4"})
    uploader.upload()
    media = Media.get(Media.sha256 == hashlib.sha256(clip.read_bytes()).hexdigest())
    assert media.kind == "video" and media.original_name == "clip.mp4"


def test_an_upload_goes_on_from_where_the_server_is_and_a_part_sent_twice_is_refused(client, clip):
    data = clip.read_bytes()
    location = begin(client, len(data))
    cut = len(data) * 2 // 5
    assert send_part(client, location, 0, data[:cut]).headers["Upload-Offset"] == str(cut)
    again = send_part(client, location, 0, data[:cut])
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "Upload-Offset"
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == str(cut)
    done = send_part(client, location, cut, data[cut:])
    assert done.status_code == 204
    media = client.get(done.headers["Content-Location"]).get_json()
    assert media["kind"] == "video" and media["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_connection_cut_mid_part_keeps_the_bytes_that_came_and_the_upload_goes_on(
        app, public_server, api_token, clip, client):
    """A raw socket sends a part's headers and 40 % of its bytes, then closes: the server keeps what came."""
    data = clip.read_bytes()
    location = begin(client, len(data))
    host, port = urlsplit(public_server.url).hostname, urlsplit(public_server.url).port
    cut = len(data) * 2 // 5
    with socket.create_connection((host, port)) as raw:
        raw.sendall((f"PATCH {location} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api_token}\r\n"
                     f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data[:cut])
        raw.shutdown(socket.SHUT_WR)
        raw.recv(4096)  # the server answers (or closes) once it sees the body end early
    held = int(client.head(location, headers=TUS).headers["Upload-Offset"])
    assert 0 < held <= cut
    assert send_part(client, location, held, data[held:]).status_code == 204
    assert Media.get_or_none(Media.sha256 == hashlib.sha256(data).hexdigest()) is not None


def test_a_client_whose_last_answer_was_lost_learns_the_media_by_asking_not_by_sending_again(client, clip):
    data = clip.read_bytes()
    location = begin(client, len(data))
    done = send_part(client, location, 0, data)
    asked = client.head(location, headers=TUS)
    assert asked.headers["Upload-Offset"] == str(len(data))
    assert asked.headers["Content-Location"] == done.headers["Content-Location"]
    again = send_part(client, location, len(data), b"")
    assert again.status_code == 204 and again.headers["Content-Location"] == done.headers["Content-Location"]


def test_what_is_neither_photo_nor_video_is_refused_at_the_end_and_nothing_stays(client, settings):
    location = begin(client, 20, name="notes.txt")
    refused = send_part(client, location, 0, b"just some plain text")
    assert refused.status_code == 415 and refused.get_json()["error"]["field"] == "file"
    assert Media.select().count() == 0
    assert list((Path(settings.instance_dir) / partial.DIRECTORY).iterdir()) == []


def test_an_upload_is_its_owners_alone(client, settings):
    upload_id = begin(client, 10).rsplit("/", 1)[1]
    owner = partial.get(settings, upload_id, owner=1) or partial.get(settings, upload_id, owner=2)
    assert owner is not None
    assert partial.get(settings, upload_id, owner=owner.owner + 1000) is None


@pytest.mark.parametrize("headers, status, field", [
    ({"Upload-Length": "10"}, 412, "Tus-Resumable"),
    ({**TUS}, 400, "Upload-Length"),
    ({**TUS, "Upload-Length": str(10**12)}, 413, "Upload-Length"),
    ({**TUS, "Upload-Length": "10", "Upload-Metadata": "filename !!!"}, 400, "Upload-Metadata"),
])
def test_a_bad_beginning_is_refused_naming_the_header(client, headers, status, field):
    response = client.post("/api/uploads", headers=headers)
    assert response.status_code == status and response.get_json()["error"]["field"] == field


def test_the_pages_upload_in_parts_with_their_csrf_token(form_client, clip):
    data = clip.read_bytes()
    location = begin(form_client, len(data), prefix="/media")
    assert location.startswith("/media/uploads/")
    assert send_part(form_client, location, 0, data).status_code == 204


def test_an_empty_part_at_the_end_while_the_upload_is_being_kept_is_told_to_ask_again(client, clip, settings):
    """Only the request that claims the complete upload keeps it: another gets 409 (the page asks again)."""
    data = clip.read_bytes()
    location = begin(client, len(data))
    upload_id = location.rsplit("/", 1)[1]
    found = partial.get(settings, upload_id, owner=partial_owner(settings, upload_id))
    with found.path(settings).open("ab") as out:
        out.write(data)  # every byte came; its keeping is under way
    assert partial.claim_keeping(settings, found)
    assert send_part(client, location, len(data), b"").status_code == 409
    partial.release_keeping(settings, found)  # that request died, or the store was down
    done = send_part(client, location, len(data), b"")
    assert done.status_code == 204 and done.headers["Content-Location"]
    assert Media.select().count() == 1


def test_abandoned_uploads_in_parts_are_removed_a_day_after_they_began(client, settings):
    begin(client, 10)
    root = Path(settings.instance_dir) / partial.DIRECTORY
    assert partial.prune(settings) == 0 and len(list(root.iterdir())) == 2
    assert partial.prune(settings, now=time.time() + partial.LIFETIME_S + 1) == 1
    assert list(root.iterdir()) == []


def partial_owner(settings, upload_id) -> int:
    import json
    return json.loads((Path(settings.instance_dir) / partial.DIRECTORY / f"{upload_id}.json").read_text())["owner"]
