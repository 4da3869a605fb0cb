"""The compose form through Flask's test client: what it shows, what it keeps
when a network would refuse the post, CSRF, and what a valid post creates."""
import json
from dataclasses import asdict

from socialpub import db
from socialpub.models import Post, Publication, PublicationStatus
from socialpub.networks import LIMITS, NETWORKS

from tests.support.web_helpers import (
    checked_channels,
    count_rows,
    csrf_token,
    field_errors,
    input_value,
    json_script,
    page,
    textarea,
)

IMAGE = "https://example.com/photo.jpg"



def compose(client, channels, action="draft", **fields):
    data = {"text": "Hello #launch", "action": action, "channels": [str(i) for i in channels.values()]}
    data.update(fields)
    return client.post("/compose", data=data)


def test_the_compose_page_offers_every_enabled_channel_ticked(form_client, sandbox_channels):
    html = page(form_client.get("/compose"))
    assert checked_channels(html) == sorted(sandbox_channels.values())
    for network in NETWORKS:
        assert f'id="pane-{network}"' in html
        assert f'<label for="override_{network}">' in html


def test_the_limits_in_the_page_are_networks_limits(form_client, sandbox_channels):
    limits = json_script(page(form_client.get("/compose")), "network-limits")
    assert set(limits) == set(NETWORKS)
    for network in NETWORKS:
        # As JSON has them: tuples are lists.
        assert {k: v for k, v in limits[network].items() if k != "label"} == json.loads(
            json.dumps(asdict(LIMITS[network])))
    assert limits["instagram"]["max_hashtags"] == 30 and limits["instagram"]["image_required"] is True


def test_every_input_of_the_compose_page_has_a_label(form_client, sandbox_channels):
    import re

    html = page(form_client.get("/compose"))
    ids = re.findall(r'<(?:input|textarea|select)(?![^>]*type="(?:hidden|checkbox)")[^>]*\bid="([^"]+)"', html)
    assert ids
    for element_id in ids:
        assert f'<label for="{element_id}"' in html, element_id
    # Checkboxes are wrapped in their label.
    assert html.count('<label class="check">') == len(sandbox_channels)


def test_instagram_without_an_image_comes_back_with_the_input_kept_and_the_problem_by_the_image(
        form_client, sandbox_channels):
    response = compose(form_client, sandbox_channels, action="publish", text="Hello #launch\nsecond line",
                       link="https://example.com/a", override_linkedin="For LinkedIn only")
    assert response.status_code == 422
    html = page(response)
    assert textarea(html, "text") == "Hello #launch\nsecond line"
    assert input_value(html, "link") == "https://example.com/a"
    assert textarea(html, "override_linkedin") == "For LinkedIn only"
    assert checked_channels(html) == sorted(sandbox_channels.values())
    assert field_errors(html, "image_url") == ["Instagram: an image is required"]
    assert '<a href="#image_url">Instagram: an image is required</a>' in html
    assert count_rows() == (0, 0)


def test_empty_text_is_refused_next_to_the_text_with_the_other_fields_kept(form_client, sandbox_channels):
    response = compose(form_client, {"linkedin": sandbox_channels["linkedin"]}, text="   ", image_url=IMAGE)
    assert response.status_code == 422
    html = page(response)
    assert field_errors(html, "text") == ["Must not be empty"]
    assert input_value(html, "image_url") == IMAGE
    assert checked_channels(html) == [sandbox_channels["linkedin"]]


def test_an_over_limit_override_is_shown_in_that_networks_pane(form_client, sandbox_channels):
    too_long = "x" * (LIMITS["linkedin"].max_text + 1)
    response = compose(form_client, sandbox_channels, action="publish", image_url=IMAGE,
                       override_linkedin=too_long)
    assert response.status_code == 422
    html = page(response)
    assert textarea(html, "override_linkedin") == too_long
    assert field_errors(html, "override_linkedin") == ["Text is 3001 characters; the limit is 3000"]
    assert 'class="card pane pane-error" id="pane-linkedin"' in html
    assert '<a href="#override_linkedin">LinkedIn: Text is 3001 characters' in html
    assert count_rows() == (0, 0)


def test_too_many_instagram_hashtags_are_reported_on_the_instagram_pane(form_client, sandbox_channels):
    text = " ".join(f"#tag{i}" for i in range(31))
    html = page(compose(form_client, sandbox_channels, action="queue", text=text, image_url=IMAGE))
    assert field_errors(html, "override_instagram") == ["31 hashtags; the limit is 30"]


def test_a_bad_url_is_refused_next_to_its_field(form_client, sandbox_channels):
    html = page(compose(form_client, sandbox_channels, image_url="ftp://example.com/a.jpg"))
    assert field_errors(html, "image_url") == ["Must be an http(s) URL, not 'ftp://example.com/a.jpg'"]
    assert input_value(html, "image_url") == "ftp://example.com/a.jpg"


def test_no_channel_ticked_is_refused_by_the_channels(form_client, sandbox_channels):
    response = compose(form_client, {}, image_url=IMAGE)
    assert response.status_code == 422
    assert field_errors(page(response), "channels") == ["Tick at least one channel to publish to."]
    assert count_rows() == (0, 0)


def test_a_valid_draft_creates_the_post_and_one_pending_publication_per_ticked_channel(
        form_client, sandbox_channels):
    response = compose(form_client, sandbox_channels, text="Hello\r\nworld", image_url=IMAGE,
                       link="https://example.com/a", override_instagram="Insta version #launch",
                       # left as the page filled it in: no override
                       override_linkedin="Hello\nworld\n\nhttps://example.com/a", override_whatsapp="")
    assert response.status_code == 302
    with db.database.connection_context():
        post = Post.get()
        assert response.headers["Location"].endswith(f"/posts/{post.id}")
        assert post.text == "Hello\nworld"  # the browser's CRLF is back to LF
        assert (post.image_url, post.link, post.status) == (IMAGE, "https://example.com/a", "draft")
        texts = {p.network: (p.text, p.status) for p in Publication.select()}
    assert texts == {
        "facebook": ("Hello\nworld", PublicationStatus.PENDING),
        "instagram": ("Insta version #launch\n\nhttps://example.com/a", PublicationStatus.PENDING),
        "linkedin": ("Hello\nworld\n\nhttps://example.com/a", PublicationStatus.PENDING),
        "whatsapp": ("Hello\nworld\n\nhttps://example.com/a", PublicationStatus.PENDING),
    }
    assert "Saved as a draft" in page(form_client.get(response.headers["Location"]))


def test_publish_now_creates_the_post_and_publishes_it_everywhere(form_client, sandbox, sandbox_channels,
                                                                  drain):
    response = compose(form_client, sandbox_channels, action="publish",
                       image_url=f"{sandbox.url}/_sandbox/image.jpg")
    assert response.status_code == 302
    with db.database.connection_context():
        post = Post.get()
        assert {p.status for p in Publication.select()} <= {PublicationStatus.QUEUED, PublicationStatus.PROCESSING,
                                                             PublicationStatus.PUBLISHED}
    drain()
    with db.database.connection_context():
        assert {p.status for p in Publication.select()} == {PublicationStatus.PUBLISHED}
    html = page(form_client.get(f"/posts/{post.id}"))
    assert "Publishing to 4 channels" in html
    assert html.count('class="badge badge-published"') >= 5  # the post and its four networks


def test_the_form_refuses_a_post_without_a_csrf_token(app, sandbox_channels):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    data = {"text": "Hello", "image_url": IMAGE, "action": "draft",
            "channels": [str(i) for i in sandbox_channels.values()]}
    assert client.post("/compose", data=data).status_code == 400
    assert client.post("/compose", data=dict(data, csrf_token="forged")).status_code == 400
    assert count_rows() == (0, 0)
    token = csrf_token(page(client.get("/compose")))
    assert client.post("/compose", data=dict(data, csrf_token=token)).status_code == 302
    assert count_rows() == (1, 4)


def test_an_expired_form_of_ours_comes_back_as_typed(app, sandbox_channels):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/compose", data={"text": "Keep me", "action": "draft"},
                           headers={"Origin": "http://localhost"})
    assert response.status_code == 400
    html = page(response)
    assert textarea(html, "text") == "Keep me"
    assert "This form had expired" in html and csrf_token(html)


def test_a_cross_site_post_gets_no_form_back(app, sandbox_channels):
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/compose", data={"text": "Injected", "action": "publish"},
                                      headers={"Origin": "https://evil.example"})
    assert response.status_code == 400
    assert "Injected" not in page(response)


def test_the_json_api_needs_no_csrf_token(app, sandbox_channels):
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/api/posts", json={"text": "From the API", "image_url": IMAGE})
    assert response.status_code == 201


def test_healthz_still_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
