"""The posts API: what it accepts, what it refuses, and that a refusal stores nothing."""
import pytest

from socialpub import db
from socialpub.models import Post, Publication

IMAGE = "https://example.com/photo.jpg"


def count_rows():
    with db.database.connection_context():
        return Post.select().count(), Publication.select().count()


def assert_error(response, status, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    if field:
        assert body["error"].get("field") == field
        assert field.split(".")[0] in body["error"]["message"]
    return body["error"]


def test_creating_a_post_makes_one_pending_publication_per_enabled_channel(client, sandbox_channels):
    response = client.post("/api/posts", json={"text": "Hello world", "image_url": IMAGE})
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/posts/{body['id']}")
    assert body["status"] == "draft"
    assert sorted(p["network"] for p in body["publications"]) == sorted(sandbox_channels)
    assert {p["status"] for p in body["publications"]} == {"pending"}


def test_a_post_can_target_named_networks_with_per_network_text(client, sandbox_channels):
    response = client.post("/api/posts", json={
        "text": "Long announcement", "networks": ["facebook", "linkedin"],
        "overrides": {"linkedin": "Professional version"}})
    assert response.status_code == 201
    texts = {p["network"]: p["text"] for p in response.get_json()["publications"]}
    assert texts == {"facebook": "Long announcement", "linkedin": "Professional version"}


def test_a_link_is_appended_for_networks_without_a_link_field(client, sandbox_channels):
    response = client.post("/api/posts", json={"text": "Read this", "link": "https://example.com/a",
                                                "networks": ["facebook", "whatsapp"]})
    texts = {p["network"]: p["text"] for p in response.get_json()["publications"]}
    assert texts["facebook"] == "Read this"
    assert texts["whatsapp"] == "Read this\n\nhttps://example.com/a"


def test_posts_are_listed_newest_first_and_paginated(client, sandbox_channels):
    ids = [client.post("/api/posts", json={"text": f"post {i}", "networks": ["facebook"]}).get_json()["id"]
           for i in range(5)]
    page1 = client.get("/api/posts?per_page=2").get_json()
    page3 = client.get("/api/posts?per_page=2&page=3").get_json()
    assert [p["id"] for p in page1["items"]] == ids[::-1][:2]
    assert [p["id"] for p in page3["items"]] == [ids[0]]
    assert page1["total"] == 5 and page1["pages"] == 3


def test_posts_can_be_filtered_by_status(client, sandbox_channels):
    client.post("/api/posts", json={"text": "a draft", "networks": ["facebook"]})
    assert client.get("/api/posts?status=published").get_json()["total"] == 0
    assert client.get("/api/posts?status=draft").get_json()["total"] == 1


def test_a_post_is_shown_with_its_publications(client, sandbox_channels):
    post_id = client.post("/api/posts", json={"text": "x", "networks": ["facebook"]}).get_json()["id"]
    body = client.get(f"/api/posts/{post_id}").get_json()
    assert body["id"] == post_id
    assert body["publications"][0]["history"] == []


@pytest.mark.parametrize("payload, field", [
    ({}, "text"),
    ({"text": ""}, "text"),
    ({"text": "   "}, "text"),
    ({"text": 5}, "text"),
    ({"text": "x", "networks": "facebook"}, "networks"),
    ({"text": "x", "networks": ["myspace"]}, "networks"),
    ({"text": "x", "channels": ["1"]}, "channels"),
    ({"text": "x", "overrides": {"facebook": ""}}, "overrides.facebook"),
    ({"text": "x", "overrides": {"orkut": "hi"}}, "overrides"),
    ({"text": "x", "publish": "yes"}, "publish"),
    ({"text": "x", "imageUrl": IMAGE}, "imageUrl"),
])
def test_malformed_create_requests_are_refused_naming_the_field(client, sandbox_channels, payload, field):
    assert_error(client.post("/api/posts", json=payload), 400, field)
    assert count_rows() == (0, 0)


def test_malformed_json_is_a_400(client, sandbox_channels):
    error = assert_error(client.post("/api/posts", data="{not json", content_type="application/json"), 400)
    assert "malformed JSON" in error["message"]
    assert count_rows() == (0, 0)


def test_a_json_array_body_is_a_400(client, sandbox_channels):
    assert_error(client.post("/api/posts", json=[1, 2]), 400)


@pytest.mark.parametrize("payload, field, words", [
    ({"text": "no picture", "networks": ["instagram"]}, "image_url", "image is required"),
    ({"text": "x" * 2201, "networks": ["instagram"], "image_url": IMAGE}, "text", "2200"),
    ({"text": " ".join(f"#tag{i}" for i in range(31)), "networks": ["instagram"], "image_url": IMAGE},
     "text", "hashtags"),
    ({"text": "x" * 3001, "networks": ["linkedin"]}, "text", "3000"),
    ({"text": "x" * 4097, "networks": ["whatsapp"]}, "text", "4096"),
    ({"text": "x" * 1025, "networks": ["whatsapp"], "image_url": IMAGE}, "text", "1024"),
    ({"text": "x", "image_url": "ftp://example.com/a.jpg"}, "image_url", "http"),
    ({"text": "x", "image_url": "javascript:alert(1)"}, "image_url", "http"),
    ({"text": "x", "link": "example.com"}, "link", "http"),
    ({"text": "x", "channels": [999]}, "channels", "999"),
])
def test_content_a_network_would_reject_is_a_422_before_anything_is_stored_when_it_is_to_go_out(
        client, sandbox_channels, payload, field, words):
    error = assert_error(client.post("/api/posts", json={**payload, "publish": True}), 422, field)
    assert words in error["message"]
    assert count_rows() == (0, 0)


def test_every_network_problem_is_listed(client, sandbox_channels):
    error = assert_error(client.post("/api/posts", json={"text": "x" * 5000, "publish": True}), 422, "image_url")
    networks = {d["network"] for d in error["details"]}
    assert networks == {"instagram", "linkedin", "whatsapp"}


def test_a_post_without_any_channel_is_a_422(client):
    assert_error(client.post("/api/posts", json={"text": "hello"}), 422, "channels")


def test_unknown_post_ids_are_404_in_json(client, sandbox_channels):
    for path in ("/api/posts/4242", "/api/posts/4242/status"):
        assert_error(client.get(path), 404)
    assert_error(client.post("/api/posts/4242/publish"), 404)


def test_unknown_endpoints_and_methods_answer_in_json(client):
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.delete("/api/posts"), 405)


def test_a_body_over_the_size_limit_is_a_413(client, sandbox_channels, settings):
    huge = "x" * (settings.max_body_bytes + 10)
    assert_error(client.post("/api/posts", json={"text": huge}), 413)
    assert count_rows() == (0, 0)


@pytest.mark.parametrize("query, field", [("page=0", "page"), ("per_page=1000", "per_page"),
                                          ("page=abc", "page"), ("status=bogus", "status")])
def test_bad_list_parameters_are_refused_naming_them(client, query, field):
    assert_error(client.get(f"/api/posts?{query}"), 400, field)


def test_publish_with_unknown_fields_is_refused(client, sandbox_channels):
    post_id = client.post("/api/posts", json={"text": "x", "networks": ["facebook"]}).get_json()["id"]
    assert_error(client.post(f"/api/posts/{post_id}/publish", json={"image": IMAGE}), 400, "image")
    assert client.get(f"/api/posts/{post_id}/status").get_json()["by_status"]["pending"] == 1


def test_publish_with_a_bad_image_url_changes_nothing(client, sandbox_channels):
    post_id = client.post("/api/posts", json={"text": "x", "networks": ["facebook"]}).get_json()["id"]
    assert_error(client.post(f"/api/posts/{post_id}/publish", json={"image_url": "file:///etc/passwd"}),
                 422, "image_url")
    status = client.get(f"/api/posts/{post_id}/status").get_json()
    assert status["status"] == "draft" and status["by_status"]["pending"] == 1


def test_a_body_that_is_not_sent_as_json_is_refused_so_other_sites_cannot_post(client, sandbox_channels):
    # What a cross-site HTML form with enctype=text/plain can send: JSON-shaped, not JSON-typed.
    response = client.post("/api/posts", data='{"text": "x", "publish": true, "link": "http://a/?="}',
                           content_type="text/plain")
    assert_error(response, 415)
    assert count_rows() == (0, 0)
