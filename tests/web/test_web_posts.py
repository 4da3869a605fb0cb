"""The posts list and a post's page through Flask's test client: statuses,
filters, pages, each network's answer and error, publish and retry."""
import re

from socialpub import db
from socialpub.models import Post, Publication, PublicationStatus

from tests.support.web_helpers import csrf_token, json_script, page

IMAGE = "https://example.com/photo.jpg"



def create(client, text="Hello", **extra):
    body = {"text": text, "image_url": extra.pop("image_url", IMAGE), **extra}
    response = client.post("/api/posts", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def post_links(html):
    return [int(i) for i in re.findall(r'<a class="post-link" href="/posts/(\d+)">', html)]


def test_the_home_page_is_the_posts_list(form_client):
    response = form_client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/posts")


def test_posts_are_listed_newest_first_with_each_networks_status(form_client, sandbox_channels):
    first = create(form_client, "first")
    second = create(form_client, "second", networks=["facebook", "linkedin"])
    html = page(form_client.get("/posts"))
    assert post_links(html) == [second, first]
    item = html[html.index(f'href="/posts/{second}"'):html.index(f'href="/posts/{first}"')]
    assert item.count('class="net-status status-pending"') == 2
    assert "Facebook" in item and "LinkedIn" in item and "Instagram" not in item


def test_the_posts_list_is_paginated(app, form_client, sandbox_channels):
    app.extensions["socialpub"] = app.extensions["socialpub"].with_(page_size=2)
    ids = [create(form_client, f"post {i}", networks=["facebook"]) for i in range(5)]
    assert post_links(page(form_client.get("/posts"))) == ids[::-1][:2]
    last = page(form_client.get("/posts?page=3"))
    assert post_links(last) == [ids[0]]
    assert "Page 3 of 3" in last and 'rel="prev"' in last and 'rel="next"' not in last


def test_the_posts_list_filters_by_status(form_client, sandbox_channels, drain):
    draft = create(form_client, "still a draft")
    published = create(form_client, "out", networks=["facebook"], image_url=None)
    form_client.post(f"/posts/{published}/publish")
    drain()
    assert post_links(page(form_client.get("/posts?status=published"))) == [published]
    assert post_links(page(form_client.get("/posts?status=draft"))) == [draft]
    assert "No failed posts." in page(form_client.get("/posts?status=failed"))
    assert post_links(page(form_client.get("/posts?status=bogus"))) == [published, draft]


def test_a_draft_shows_each_networks_text_and_a_publish_button(form_client, sandbox_channels):
    post_id = create(form_client, "Main", overrides={"linkedin": "For LinkedIn"})
    html = page(form_client.get(f"/posts/{post_id}"))
    assert 'id="publish-form"' in html
    assert '<p class="post-text">For LinkedIn</p>' in html
    assert html.count('<p class="post-text">Main</p>') == 4  # the post, and Facebook, Instagram, WhatsApp
    status = json_script(html, "post-status-data")
    assert status["status"] == "draft" and len(status["publications"]) == 4
    assert 'data-status-url="/api/posts/%d/status"' % post_id in html


def test_an_unknown_post_is_a_404_page(form_client):
    response = form_client.get("/posts/12345")
    assert response.status_code == 404
    assert "Post 12345 doesn&#39;t exist." in page(response)


def test_publishing_a_draft_from_its_page_publishes_every_network(form_client, sandbox, sandbox_channels, drain):
    post_id = create(form_client, image_url=f"{sandbox.url}/_sandbox/image.jpg")
    response = form_client.post(f"/posts/{post_id}/publish")
    assert response.status_code == 302
    drain()
    html = page(form_client.get(f"/posts/{post_id}"))
    assert 'id="publish-form"' not in html
    assert html.count('<article class="card pub status-published"') == 4
    with db.database.connection_context():
        for p in Publication.select():
            assert f"<code>{p.external_id}</code>" in html
            assert p.external_url is None or f'href="{p.external_url}"' in html
    # A second click says so instead of publishing twice.
    again = form_client.post(f"/posts/{post_id}/publish", follow_redirects=True)
    assert "Not published: post %d is published" % post_id in page(again)


def test_a_failed_network_shows_its_error_and_only_it_gets_a_retry_button(form_client, sandbox,
                                                                          sandbox_client, sandbox_channels,
                                                                          drain):
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = create(form_client, image_url=f"{sandbox.url}/_sandbox/image.jpg")
    form_client.post(f"/posts/{post_id}/publish")
    drain()
    html = page(form_client.get(f"/posts/{post_id}"))
    with db.database.connection_context():
        linkedin = Publication.get(Publication.network == "linkedin")
    assert linkedin.status == PublicationStatus.FAILED
    card = html[html.index(f'id="pub-{linkedin.id}"'):]
    card = card[:card.index("</article>")]
    assert "is not an enum symbol" in card and "LinkedIn said:" in card
    retry_forms = re.findall(r'<form method="post" action="/publications/(\d+)/retry" class="retry-form"( hidden)?[^>]*>',
                             html)
    assert {int(i): bool(hidden) for i, hidden in retry_forms} == {
        p: p != linkedin.id for p in json_ids(html)}
    assert 'class="badge badge-partially_published"' in html


def json_ids(html):
    return [p["id"] for p in json_script(html, "post-status-data")["publications"]]


def test_retry_from_the_page_sends_the_failed_network_again(form_client, sandbox, sandbox_client,
                                                            sandbox_channels, drain):
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    post_id = create(form_client, image_url=f"{sandbox.url}/_sandbox/image.jpg")
    form_client.post(f"/posts/{post_id}/publish")
    drain()
    with db.database.connection_context():
        linkedin = Publication.get(Publication.network == "linkedin")
    response = form_client.post(f"/publications/{linkedin.id}/retry", follow_redirects=True)
    assert "Sending to LinkedIn again" in page(response)
    drain()
    with db.database.connection_context():
        assert Post.get_by_id(post_id).status == "published"
        assert Publication.get_by_id(linkedin.id).status == PublicationStatus.PUBLISHED
    assert len(sandbox_client.received("linkedin")) == 1


def test_retry_answers_json_to_the_pages_script(form_client, sandbox_channels):
    post_id = create(form_client)
    with db.database.connection_context():
        pub = Publication.get(Publication.post == post_id)
    response = form_client.post(f"/publications/{pub.id}/retry", headers={"Accept": "application/json"})
    assert response.status_code == 409
    error = response.get_json()["error"]  # the API's one error shape
    assert error["code"] == "conflict" and "nothing to retry" in error["message"]
    assert form_client.post("/publications/999/retry", headers={"Accept": "application/json"}).status_code == 404


def test_retry_needs_a_csrf_token(app, sandbox_channels):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    post_id = create(client)
    html = page(client.get(f"/posts/{post_id}"))
    pub_id = json_ids(html)[0]
    assert client.post(f"/publications/{pub_id}/retry").status_code == 400
    answer = client.post(f"/publications/{pub_id}/retry", data={"csrf_token": csrf_token(html)},
                         headers={"Accept": "application/json"})
    assert answer.status_code == 409  # past CSRF; refused only because nothing failed
