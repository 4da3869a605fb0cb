"""Input limits: every refusal is a 4xx that names the field at fault (JSON on
the API, the form given back as typed on pages), and writes nothing."""
import pytest

from socialpub import db
from socialpub.models import Channel, Post, Publication

from tests.support.web_helpers import field_errors, input_value, page, textarea

IMAGE = "https://example.com/photo.jpg"
BEYOND_64_BITS = 2**64
NUL, SURROGATE = "\x00", "\ud800"


def rows():
    with db.database.connection_context():
        return Post.select().count(), Publication.select().count(), Channel.select().count()


def assert_refused(response, status, field=None):
    """A JSON error with ``status``, naming ``field`` in ``field`` and in the message."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    if field:
        assert error.get("field") == field
        assert error["message"].startswith(field.split(".")[0])
    return error


@pytest.fixture
def post_id(client, sandbox_channels):
    """A draft on the four sandbox channels."""
    response = client.post("/api/posts", json={"text": "Draft", "image_url": IMAGE})
    assert response.status_code == 201
    return response.get_json()["id"]


# ------------------------------------------------------------------ body size and shape


@pytest.mark.parametrize("method, path", [("post", "/api/posts"), ("post", "/api/channels"),
                                          ("patch", "/api/posts/{id}"), ("post", "/api/posts/{id}/publish")])
def test_a_body_over_the_size_limit_is_a_json_413_on_every_endpoint_that_takes_one(
        client, post_id, settings, method, path):
    before = rows()
    response = getattr(client, method)(path.format(id=post_id), json={"text": "x" * settings.max_body_bytes})
    assert_refused(response, 413)
    assert "too large" in response.get_json()["error"]["message"]
    assert rows() == before


@pytest.mark.parametrize("raw, words", [
    ('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}", "malformed JSON"),  # past Python's recursion limit
    ('{"text": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32"),
    ('{"channels": [' + "9" * 5000 + "]}", "malformed JSON"),  # past int()'s 4,300 digits
    ('{"text": "x", "channels": [1]', "malformed JSON"),
    ("[]", "must be a JSON object"),
    ('"text"', "must be a JSON object"),
    ("null", "malformed JSON"),
])
def test_malformed_nested_or_oversized_json_is_a_400_naming_the_body(client, post_id, raw, words):
    before = rows()
    error = assert_refused(client.post("/api/posts", data=raw, content_type="application/json"), 400)
    assert error["message"].startswith("body: ") and words in error["message"]
    assert rows() == before


# ------------------------------------------------------------------ create a post


@pytest.mark.parametrize("fields, status, field", [
    # wrong JSON types
    ({"text": None}, 400, "text"),
    ({"text": 12}, 400, "text"),
    ({"text": ["x"]}, 400, "text"),
    ({"text": {"x": 1}}, 400, "text"),
    ({"overrides": []}, 400, "overrides"),
    ({"overrides": ""}, 400, "overrides"),
    ({"overrides": {"facebook": 5}}, 400, "overrides.facebook"),
    ({"publish": None}, 400, "publish"),
    ({"publish": "true"}, 400, "publish"),
    ({"networks": {"facebook": True}}, 400, "networks"),
    ({"channels": {"1": 1}}, 400, "channels"),
    ({"channels": [True]}, 400, "channels"),
    ({"channels": [1.0]}, 400, "channels"),
    ({"image_url": ["https://example.com/a.jpg"]}, 400, "image_url"),
    ({"scheduled_at": 1893456000}, 400, "scheduled_at"),
    ({"scheduled_at": "2030-01-01T09:00:00", "timezone": ["UTC"]}, 400, "timezone"),
    # lengths
    ({"text": "x" * 63_207}, 422, "text"),
    ({"overrides": {"linkedin": "x" * 63_207}}, 422, "overrides.linkedin"),
    ({"image_url": "https://example.com/" + "a" * 2000}, 400, "image_url"),
    ({"link": "https://example.com/" + "a" * 2000}, 400, "link"),
    ({"scheduled_at": "2030-01-01T09:00:00+00:00" + " " * 60}, 400, "scheduled_at"),
    ({"scheduled_at": "2030-01-01T09:00:00", "timezone": "Europe/" + "x" * 60}, 400, "timezone"),
    # how many channels, and which
    ({"channels": list(range(1, 52))}, 400, "channels"),
    ({"channels": [1, 1]}, 400, "channels"),
    ({"networks": ["facebook", "facebook"]}, 400, "networks"),
    ({"channels": [BEYOND_64_BITS]}, 422, "channels"),
    ({"channels": [2**63]}, 422, "channels"),
    ({"channels": [10**18]}, 422, "channels"),
    ({"channels": [-1]}, 422, "channels"),
    ({"channels": [0]}, 422, "channels"),
    # text no database stores
    ({"text": f"a{NUL}b"}, 400, "text"),
    ({"overrides": {"whatsapp": f"hi {SURROGATE}"}}, 400, "overrides.whatsapp"),
    ({"link": f"https://example.com/{NUL}"}, 400, "link"),
    ({"image_url": "https://example.com/a b.jpg"}, 400, "image_url"),
    ({"image_url": "https://example.com/a.jpg\n"}, None, None),  # outer whitespace is trimmed: fine
    # times out of datetime's range once in UTC
    ({"scheduled_at": "9999-12-31T23:00:00-05:00"}, 422, "scheduled_at"),
    ({"scheduled_at": "0001-01-01T00:00:00+05:00"}, 422, "scheduled_at"),
    ({"scheduled_at": "9999-12-31T23:30:00", "timezone": "America/New_York"}, 422, "scheduled_at"),
])
def test_a_create_request_past_a_limit_is_refused_naming_the_field_and_stores_nothing(
        client, sandbox_channels, fields, status, field):
    body = {"text": "Hello", "image_url": IMAGE, **fields}
    before = rows()
    response = client.post("/api/posts", json=body)
    if status is None:
        assert response.status_code == 201
        return
    assert_refused(response, status, field)
    assert rows() == before


def test_a_lone_surrogate_sent_as_a_json_escape_is_refused(client, sandbox_channels):
    before = rows()
    response = client.post("/api/posts", data='{"text": "caf\\udce9"}', content_type="application/json")
    assert_refused(response, 400, "text")
    assert rows() == before


def test_fifty_channels_are_taken(client, sandbox_channels):
    """The bound is 50 ids: exactly 50 unknown ones are looked up (422), not refused by count."""
    error = assert_refused(client.post("/api/posts", json={"text": "x", "channels": list(range(100, 150))}),
                           422, "channels")
    assert "no channel with id 100" in error["message"]


# ------------------------------------------------------------------ the other bodies


@pytest.mark.parametrize("path, body, status, field", [
    ("/api/posts/{id}", {"scheduled_at": 5}, 400, "scheduled_at"),  # null is allowed: it makes a draft
    ("/api/posts/{id}", {"scheduled_at": ["2030-01-01T00:00:00Z"]}, 400, "scheduled_at"),
    ("/api/posts/{id}", {"scheduled_at": "2030-01-01T00:00:00Z", "timezone": 1}, 400, "timezone"),
    ("/api/posts/{id}", {"scheduled_at": "x" * 65}, 400, "scheduled_at"),
    ("/api/posts/{id}", {"scheduled_at": "9999-12-31T23:59:00-12:00"}, 422, "scheduled_at"),
    ("/api/posts/{id}", {"scheduled_at": "2030-01-01T00:00:00Z", "when": 1}, 400, "when"),
    ("/api/posts/{id}/publish", {"image_url": 7}, 400, "image_url"),
    ("/api/posts/{id}/publish", {"image_url": f"https://example.com/{NUL}.jpg"}, 400, "image_url"),
    ("/api/posts/{id}/publish", {"image_url": "https://example.com/" + "a" * 2000}, 400, "image_url"),
    ("/api/posts/{id}/retry", {"everything": True}, 400, "everything"),
    ("/api/posts/{id}/cancel", {"force": True}, 400, "force"),
])
def test_refused_changes_to_a_post_name_the_field_and_change_nothing(client, post_id, path, body, status,
                                                                     field):
    method = client.patch if path == "/api/posts/{id}" else client.post
    before = client.get(f"/api/posts/{post_id}").get_json()
    assert_refused(method(path.format(id=post_id), json=body), status, field)
    assert client.get(f"/api/posts/{post_id}").get_json() == before


def test_a_publication_retry_with_a_field_is_refused(client, post_id):
    publication_id = client.get(f"/api/posts/{post_id}").get_json()["publications"][0]["id"]
    assert_refused(client.post(f"/api/publications/{publication_id}/retry", json={"x": 1}), 400, "x")


# ------------------------------------------------------------------ channels


CHANNEL = {"network": "facebook", "account_id": "546349135390552", "token": "EAAB-token"}


@pytest.mark.parametrize("fields, field", [
    ({"name": "n" * 101}, "name"),
    ({"account_id": "1" * 201}, "account_id"),
    ({"token": "t" * 4097}, "token"),
    ({"base_url": "https://graph.example.com/" + "v" * 300}, "base_url"),
    ({"network": "linkedin", "account_id": "urn:li:person:abc", "api_version": "2026010" * 3},
     "api_version"),
    ({"network": "linkedin", "account_id": "urn:li:person:abc", "api_version": "２０２６０１"},
     "api_version"),
    ({"account_id": "546349135390552/feed?x="}, "account_id"),
    ({"account_id": "page-name"}, "account_id"),
    ({"network": 5}, "network"),
    ({"name": ["a"]}, "name"),
    ({"token": {"value": "t"}}, "token"),
    ({"enabled": None}, "enabled"),
    ({"enabled": "yes"}, "enabled"),
    ({"token": f"EAAB{NUL}"}, "token"),
    ({"name": f"Page {SURROGATE}"}, "name"),
    ({"network": "whatsapp", "recipients": [f"+1650555{i:04d}" for i in range(51)]}, "recipients"),
    ({"network": "whatsapp", "recipients": ["+16505551234", "+1 650 555 1234"]}, "recipients"),
    ({"network": "whatsapp", "recipients": ["+16505551234\n"]}, "recipients"),
    ({"network": "whatsapp", "recipients": ["+١٦٥٠٥٥٥١٢٣٤"]}, "recipients"),
    ({"network": "whatsapp", "recipients": [16505551234]}, "recipients"),
    ({"network": "whatsapp", "recipients": {"a": "+16505551234"}}, "recipients"),
])
def test_a_channel_past_a_limit_is_refused_naming_the_field_and_stores_nothing(client, fields, field):
    before = rows()
    response = client.post("/api/channels", json={**CHANNEL, **fields})
    assert response.status_code in (400, 422)
    assert_refused(response, response.status_code, field)
    assert rows() == before


def test_fifty_recipients_are_taken(client, sandbox):
    response = client.post("/api/channels", json={**CHANNEL, "network": "whatsapp", "base_url": f"{sandbox.url}/v24.0",
                                                  "recipients": [f"+1650555{i:04d}" for i in range(50)]})
    assert response.status_code == 201


# ------------------------------------------------------------------ pagination


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"), ("page=1.5", "page"),
    ("page=1e3", "page"), ("page=%201", "page"), ("page=1_0", "page"), ("page=%D9%A1", "page"),
    ("page=1000001", "page"), ("page=99999999999999999999999999", "page"), ("page=" + "9" * 5000, "page"),
    ("per_page=0", "per_page"), ("per_page=101", "per_page"), ("per_page=-5", "per_page"),
    ("per_page=", None), ("page=", None), ("page=1000000&per_page=100", None),
])
def test_pagination_outside_its_bounds_is_a_400_naming_the_parameter(client, query, field):
    response = client.get(f"/api/posts?{query}")
    if field is None:
        assert response.status_code == 200
        return
    error = assert_refused(response, 400, field)
    assert "whole number" in error["message"] or "between" in error["message"]


# ------------------------------------------------------------------ ids in paths


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("post", [str(BEYOND_64_BITS), str(2**63), str(10**18), "0", "-1", "01", "1e3",
                                  "٣", "9" * 5000])
def test_ids_past_the_range_in_paths_are_json_404s_on_every_route(client, post_id, post):
    before = rows()
    for method, path in [("GET", "/api/posts/{}"), ("PATCH", "/api/posts/{}"),
                         ("GET", "/api/posts/{}/status"),
                         ("POST", "/api/posts/{}/publish"), ("POST", "/api/posts/{}/retry"),
                         ("POST", "/api/posts/{}/cancel"), ("POST", "/api/publications/{}/retry"),
                         ("GET", "/api/channels/{}")]:
        response = client.open(path.format(post), method=method, json={"scheduled_at": "2030-01-01T00:00Z"})
        assert_refused(response, 404)
    assert rows() == before


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_largest_id_is_looked_up_and_not_found(client, post_id):
    for path in ("/api/posts/999999999999999999", "/api/channels/999999999999999999"):
        assert "does not exist" in assert_refused(client.get(path), 404)["message"]
    body = {"text": "x", "channels": [999_999_999_999_999_999]}
    assert_refused(client.post("/api/posts", json=body), 422, "channels")


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_text_no_database_stores_is_refused_on_both_databases(client, sandbox_channels):
    before = rows()
    assert_refused(client.post("/api/posts", json={"text": f"a{NUL}b", "image_url": IMAGE}), 400, "text")
    assert_refused(client.post("/api/channels", json={**CHANNEL, "name": f"a{NUL}b"}), 400, "name")
    long_url = "https://graph.example.com/" + "v" * 300  # the column is VARCHAR(300)
    assert_refused(client.post("/api/channels", json={**CHANNEL, "base_url": long_url}), 400, "base_url")
    assert rows() == before


# ------------------------------------------------------------------ web forms



@pytest.mark.parametrize("fields, shown_at", [
    ({"channels": ["1", "1"]}, "channels"),
    ({"channels": [str(BEYOND_64_BITS)]}, "channels"),
    ({"link": "https://example.com/" + "a" * 2000}, "link"),
    ({"link": "https://example.com/a b"}, "link"),
    ({"text": f"Hello{NUL}"}, "text"),
    ({"action": "schedule", "scheduled_at": "9999-12-31T23:30", "timezone": "America/New_York"},
     "scheduled_at"),
])
def test_a_refused_compose_form_comes_back_with_the_input_kept(form_client, sandbox_channels, fields,
                                                               shown_at):
    data = {"text": "Hello #launch", "image_url": IMAGE, "action": "draft",
            "channels": [str(i) for i in sandbox_channels.values()], **fields}
    before = rows()
    response = form_client.post("/compose", data=data)
    assert response.status_code == 422
    html = page(response)
    assert field_errors(html, shown_at), html[:2000]
    assert textarea(html, "text") == data["text"]
    assert input_value(html, "image_url") == IMAGE
    if "link" in fields:
        assert input_value(html, "link") == fields["link"]
    assert rows() == before


def test_a_refused_channel_form_comes_back_with_the_input_kept(form_client):
    data = {"network": "facebook", "name": "N" * 101, "account_id": "546349135390552", "token": "t",
            "enabled": "1"}
    before = rows()
    response = form_client.post("/channels/new", data=data)
    assert response.status_code == 422
    html = page(response)
    assert field_errors(html, "name")
    assert input_value(html, "name") == "N" * 101 and input_value(html, "account_id") == "546349135390552"
    assert rows() == before


@pytest.mark.parametrize("path", [f"/posts/{BEYOND_64_BITS}", f"/channels/{BEYOND_64_BITS}/edit", "/posts/0"])
def test_ids_past_the_range_in_page_urls_are_404_pages(form_client, path):
    assert form_client.get(path).status_code == 404
