"""Lists of posts deep in the history: keyset pages (``before``) and totals
counted up to a cap, so that a list costs the same after years of posts."""
from __future__ import annotations

from socialpub import db
from socialpub.intake import post_search
from socialpub.models import Post


def make_posts(count):
    with db.database.connection_context():
        for i in range(count):
            Post.create(text=f"post {i}")


def test_keyset_pages_walk_the_whole_list_in_the_same_order_as_numbered_pages(client):
    make_posts(45)
    numbered = [p["id"] for n in (1, 2, 3) for p in client.get(f"/api/posts?per_page=20&page={n}").get_json()["items"]]
    first = client.get("/api/posts?per_page=20").get_json()
    walked, page = [p["id"] for p in first["items"]], first
    while page["next"] is not None:
        page = client.get(f"/api/posts?per_page=20&before={page['next']}").get_json()
        assert "total" not in page and "page" not in page
        walked += [p["id"] for p in page["items"]]
    assert walked == numbered and len(walked) == 45


def test_a_total_past_the_cap_says_so(client, form_client, monkeypatch):
    make_posts(35)
    monkeypatch.setattr(post_search, "COUNT_CAP", 30)
    body = client.get("/api/posts?per_page=10").get_json()
    assert (body["total"], body["total_capped"], body["pages"]) == (30, True, 3)
    assert "30+ posts" in form_client.get("/posts").get_data(as_text=True)
    body = client.get("/api/posts?per_page=10&q=post%203").get_json()  # "post 3", "post 30" … "post 34"
    assert (body["total"], body["total_capped"]) == (6, False)


def test_an_unknown_cursor_is_refused_naming_it(client):
    response = client.get("/api/posts?before=999999")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "before"
