"""Review links: posts shown to someone without an account, who approves
them or asks for changes, giving a name. The decision reaches the post's
History, its author (a notice, an e-mail) and the webhooks; the link shows its
own posts and nothing else, and a forged, expired, withdrawn or replayed one
shows none."""
import datetime as dt
import re
from email.header import decode_header, make_header

import pytest

from socialpub import db
from socialpub.models import Notice, OutboxEvent, ReviewDecision, ReviewLink, utcnow
from tests.domain.test_mail import inbox  # noqa: F401 (the loopback SMTP server)


@pytest.fixture
def settings(settings, inbox):  # noqa: F811
    return settings.with_(smtp_url=inbox.url, mail_from="socialpub@example.test",
                          public_base_url="https://social.example.test")


def make_link(client, post_ids, label="Week 50 for Café Luna"):
    response = client.post("/review-links", data={"ids": [str(i) for i in post_ids], "label": label})
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    url = re.search(r'id="new-review-link-value">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert url.startswith("https://social.example.test/r/")
    return url.rsplit("/", 1)[1]


def content_of(page: str, post_id: int) -> str:
    article = page[page.index(f'id="post-{post_id}"'):]
    return re.search(r'name="content" value="([0-9a-f]{64})"', article).group(1)


@pytest.fixture
def two_posts(member, sandbox_channels):
    editor = member("editor")
    ids = [editor.post("/api/posts", json={"text": text, "networks": ["facebook", "linkedin"],
                                           "first_comment": "#menu"}).get_json()["id"]
           for text in ("Spring menu: three new dishes", "Closed on Monday for the holiday")]
    other = editor.post("/api/posts", json={"text": "A post nobody was asked about",
                                            "networks": ["facebook"]}).get_json()["id"]
    return editor, ids, other


def test_a_reviewer_without_an_account_approves_one_post_and_asks_for_changes_on_the_other(
        app, form_client, anon_client, two_posts, inbox, worker):  # noqa: F811
    editor, (first, second), other = two_posts
    app.config["WTF_CSRF_ENABLED"] = False
    assert form_client.post("/api/webhooks", json={"url": "https://hooks.example.com/in"}).status_code == 201
    token = make_link(editor, [first, second])
    page = anon_client.get(f"/r/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Spring menu: three new dishes" in html and "Closed on Monday" in html and "#menu" in html
    assert "A post nobody was asked about" not in html and 'href="/channels' not in html
    answer = anon_client.post(f"/r/{token}/posts/{first}", data={
        "reviewer": "Ana Pérez", "decision": "approved", "content": content_of(html, first)})
    assert answer.status_code == 302
    # Changes without saying which: the form comes back with what was typed, nothing kept.
    refused = anon_client.post(f"/r/{token}/posts/{second}", data={
        "reviewer": "Ana Pérez", "decision": "changes", "comment": "", "content": content_of(html, second)})
    assert refused.status_code == 400 and "say what should change" in refused.get_data(as_text=True)
    assert 'value="Ana Pérez"' in refused.get_data(as_text=True)
    asked = anon_client.post(f"/r/{token}/posts/{second}", data={
        "reviewer": "Ana Pérez", "decision": "changes", "comment": "Say which Monday",
        "content": content_of(html, second)})
    assert asked.status_code == 302
    with db.database.connection_context():
        assert [(d.post_id, d.decision) for d in ReviewDecision.select().order_by(ReviewDecision.id)] == [
            (first, "approved"), (second, "changes")]
        told = {n.post: n.text for n in Notice.select().where(Notice.user == editor.user_id)}
        assert told[first].startswith("Ana Pérez approved") and "Say which Monday" in told[second]
        events = {e.type: e.payload["data"] for e in OutboxEvent.select().where(
            OutboxEvent.type.in_(["post.review_approved", "post.changes_requested"]))}
    assert events["post.review_approved"]["id"] == first
    assert events["post.changes_requested"]["review"] == {
        "link_id": events["post.changes_requested"]["review"]["link_id"], "reviewer": "Ana Pérez",
        "decision": "changes", "comment": "Say which Monday",
        "decided_at": events["post.changes_requested"]["review"]["decided_at"]}
    # In the History, by the reviewer's name; on the post page too.
    trail = editor.get(f"/api/posts/{second}/events").get_json()["items"]
    line = next(e for e in trail if e["action"] == "changes asked on the review link")
    assert line["actor"] == "Ana Pérez (reviewer)" and line["detail"]["comment"] == "Say which Monday"
    post_page = editor.get(f"/posts/{first}").get_data(as_text=True)
    assert "Approved by Ana Pérez" in post_page
    mails = inbox.wait_for(2)  # sent by the worker
    subjects = sorted(" ".join(str(make_header(decode_header(m["Subject"]))).split())
                      for m in mails if m["To"] == editor.email)
    assert subjects == [f"Ana Pérez approved post #{first} on the review link: “Spring menu: three new dishes”",
                        f"Ana Pérez asked for changes to post #{second}: Say which Monday"]


def test_a_post_edited_after_the_link_was_made_needs_a_new_decision(form_client, anon_client, two_posts, app):
    editor, (first, _), _ = two_posts
    app.config["WTF_CSRF_ENABLED"] = False
    token = make_link(editor, [first])
    seen = content_of(anon_client.get(f"/r/{token}").get_data(as_text=True), first)
    assert editor.patch(f"/api/posts/{first}", json={"text": "Spring menu: four new dishes"}).status_code == 200
    page = anon_client.get(f"/r/{token}").get_data(as_text=True)
    assert "This post changed since you were asked" in page and "four new dishes" in page
    late = anon_client.post(f"/r/{token}/posts/{first}", data={"reviewer": "Ana", "decision": "approved",
                                                               "content": seen})
    assert late.status_code == 409 and "changed since you opened this page" in late.get_data(as_text=True)
    with db.database.connection_context():
        assert ReviewDecision.select().count() == 0


@pytest.mark.parametrize("probe", ["other post", "forged", "altered", "expired", "withdrawn", "deleted"])
def test_probes_of_a_review_link_are_refused_and_show_no_post(form_client, anon_client, two_posts, app, probe):
    editor, (first, second), other = two_posts
    app.config["WTF_CSRF_ENABLED"] = False
    token = make_link(editor, [first])
    page = anon_client.get(f"/r/{token}").get_data(as_text=True)
    path, expected = f"/r/{token}", 200
    if probe == "other post":
        response = anon_client.post(f"/r/{token}/posts/{other}", data={
            "reviewer": "Eve", "decision": "approved", "content": content_of(page, first)})
        assert response.status_code == 404 and "not part of this review" in response.get_data(as_text=True)
        assert anon_client.get(f"/r/{token}/media/1").status_code == 404
        with db.database.connection_context():
            assert ReviewDecision.select().count() == 0
        return
    if probe == "forged":
        path, expected = "/r/" + "A" * 43, 404
    elif probe == "altered":
        path, expected = f"/r/{token[:-1]}{'B' if token[-1] != 'B' else 'C'}", 404
    elif probe == "expired":
        with db.database.connection_context():
            ReviewLink.update(expires_at=utcnow() - dt.timedelta(minutes=1)).execute()
        expected = 410
    elif probe == "withdrawn":
        link_id = ReviewLink_id()
        assert editor.post(f"/review-links/{link_id}/revoke").status_code == 302
        expected = 410
    elif probe == "deleted":
        assert editor.delete(f"/api/posts/{first}").status_code == 204
        response = anon_client.get(path)
        assert response.status_code == 200 and "Spring menu" not in response.get_data(as_text=True)
        replay = anon_client.post(f"/r/{token}/posts/{first}", data={
            "reviewer": "Ana", "decision": "approved", "content": content_of(page, first)})
        assert replay.status_code == 404
        return
    response = anon_client.get(path)
    body = response.get_data(as_text=True)
    assert response.status_code == expected, body[:300]
    assert "Spring menu" not in body and "Closed on Monday" not in body
    # A decision through it is refused the same way, and nothing is kept.
    replay = anon_client.post(f"{path}/posts/{first}", data={"reviewer": "Ana", "decision": "approved",
                                                             "content": content_of(page, first)})
    assert replay.status_code == expected
    with db.database.connection_context():
        assert ReviewDecision.select().count() == 0


def ReviewLink_id():
    with db.database.connection_context():
        return ReviewLink.select().get().id


def test_one_address_hammering_review_pages_is_slowed(form_client, anon_client, two_posts, app):
    editor, (first, _), _ = two_posts
    app.config["WTF_CSRF_ENABLED"] = False
    token = make_link(editor, [first])
    statuses = [anon_client.get(f"/r/{token}").status_code for _ in range(125)]
    assert statuses[:120] == [200] * 120 and statuses[-1] == 429


def test_the_api_makes_lists_and_withdraws_review_links(client, member, two_posts, anon_client, app):
    editor, (first, second), _ = two_posts
    viewer = member("viewer")
    assert viewer.post("/api/review-links", json={"post_ids": [first], "label": "x"}).status_code == 403
    for body, field in (({"post_ids": [], "label": "x"}, "post_ids"), ({"post_ids": [first], "label": ""}, "label"),
                        ({"post_ids": [first], "label": "x", "days": 61}, "days"),
                        ({"post_ids": [999999], "label": "x"}, "post_ids")):
        refused = editor.post("/api/review-links", json=body)
        assert refused.status_code == 400 and refused.get_json()["error"]["field"] == field, body
    made = editor.post("/api/review-links", json={"post_ids": [first, second], "label": "Week 50", "days": 3})
    assert made.status_code == 201
    link = made.get_json()
    assert link["post_ids"] == [first, second] and link["state"] == "open" and link["answers"] == []
    app.config["WTF_CSRF_ENABLED"] = False
    token = link["url"].rsplit("/", 1)[1]
    page = anon_client.get(f"/r/{token}").get_data(as_text=True)
    anon_client.post(f"/r/{token}/posts/{first}", data={"reviewer": "Ana", "decision": "approved",
                                                        "content": content_of(page, first)})
    [listed] = viewer.get("/api/review-links").get_json()["items"]
    assert "url" not in listed and [(a["post_id"], a["decision"], a["current"]) for a in listed["answers"]] == [
        (first, "approved", True)]
    assert editor.delete(f"/api/review-links/{link['id']}").get_json()["state"] == "revoked"
    assert editor.delete(f"/api/review-links/{link['id']}").status_code == 404
    assert anon_client.get(f"/r/{token}").status_code == 410
