"""URLs that Python's URL parser raises on (a broken bracketed host, a port
out of range) and a sign-in ``next`` with a line break: a 4xx naming the
field, or a safe fallback, never a 500."""
import pytest

from tests.support.web_helpers import field_errors, page
from tests.web.test_limits import assert_refused, rows

BROKEN_URLS = ["http://[zz]/", "http://[::1/", "https://example.com:99999/photo.jpg"]


@pytest.mark.parametrize("url", BROKEN_URLS)
@pytest.mark.parametrize("field", ["image_url", "link"])
def test_a_broken_url_in_a_new_post_is_a_422_naming_the_field(client, sandbox_channels, url, field):
    before = rows()
    body = {"text": "Hello", "image_url": "https://example.com/photo.jpg", field: url}
    assert_refused(client.post("/api/posts", json=body), 422, field)
    assert rows() == before


@pytest.mark.parametrize("url", BROKEN_URLS)
def test_a_broken_image_url_when_publishing_is_a_422(client, sandbox_channels, url):
    post = client.post("/api/posts", json={"text": "Hello", "image_url": "https://example.com/a.jpg"})
    response = client.post(f"/api/posts/{post.get_json()['id']}/publish", json={"image_url": url})
    assert_refused(response, 422, "image_url")


@pytest.mark.parametrize("url", BROKEN_URLS)
def test_a_broken_base_url_for_a_channel_is_a_422(client, url):
    before = rows()
    response = client.post("/api/channels", json={"network": "linkedin", "account_id": "urn:li:person:1",
                                                   "token": "secret-token", "base_url": url})
    assert_refused(response, 422, "base_url")
    assert rows() == before


def test_a_broken_url_in_the_compose_form_comes_back_next_to_its_field(form_client, sandbox_channels):
    response = form_client.post("/compose", data={
        "text": "Hello", "action": "draft", "image_url": "http://[zz]/",
        "channels": [str(sandbox_channels["facebook"])]})
    assert response.status_code == 422
    assert any("not a valid url" in message.lower() for message in field_errors(page(response), "image_url"))


def test_a_broken_base_url_in_the_channel_form_comes_back_next_to_its_field(form_client):
    response = form_client.post("/channels/new", data={
        "network": "linkedin", "account_id": "urn:li:person:1", "token": "secret-token",
        "base_url": "http://[::1/"})
    assert response.status_code in (400, 422)
    assert field_errors(page(response), "base_url")


@pytest.mark.parametrize("next_url", ["/posts\r\nSet-Cookie: x=1", "/posts\nx", "/posts\rx"])
def test_a_next_with_a_line_break_falls_back_to_the_posts_page(client, next_url):
    # Signed in already, the sign-in page redirects to ``next`` at once.
    response = client.get("/sign-in", query_string={"next": next_url})
    assert response.status_code == 302
    assert response.headers["Location"] == "/posts"
