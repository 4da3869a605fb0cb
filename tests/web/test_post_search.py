"""Finding posts: text (its wildcards taken literally), channel, status and
dates, for the API and the posts list; bad filters named; several posts
cancelled, deleted or duplicated at once, each on its own."""
import datetime as dt

from socialpub import db
from socialpub.models import Post, utcnow

from tests.support.web_helpers import page
from tests.web.test_editing import iso_in


def make(client, text, **fields):
    fields.setdefault("networks", ["facebook"])
    response = client.post("/api/posts", json={"text": text, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def ids(client, **query):
    response = client.get("/api/posts", query_string=query)
    assert response.status_code == 200, response.get_json()
    return sorted(p["id"] for p in response.get_json()["items"])


def test_search_by_text_channel_status_and_dates(client, sandbox_channels):
    sale = make(client, "Winter SALE: 50% off")
    other = make(client, "Spring is here", networks=["linkedin"])
    later = make(client, "Next month's news", scheduled_at=iso_in(40 * 24 * 60))
    with db.database.connection_context():
        Post.update(created_at=utcnow() - dt.timedelta(days=10)).where(Post.id == other).execute()
    assert ids(client, q="sale") == [sale]
    assert ids(client, q="50%") == [sale] and ids(client, q="5_%") == []  # wildcards are literal
    assert ids(client, channel=sandbox_channels["linkedin"]) == [other]
    assert ids(client, status="scheduled") == [later]
    today = utcnow().date()
    assert ids(client, since=today.isoformat(), until=(today + dt.timedelta(days=1)).isoformat()) == [sale]
    assert ids(client, since=(today + dt.timedelta(days=30)).isoformat()) == [later]


def test_bad_filters_are_named(client, form_client):
    for query, field in (({"status": "lost"}, "status"), ({"channel": "x"}, "channel"),
                         ({"since": "yesterday"}, "since"), ({"q": "x" * 201}, "q"),
                         ({"since": "2026-12-02", "until": "2026-12-01"}, "until")):
        response = client.get("/api/posts", query_string=query)
        assert response.status_code == 400 and response.get_json()["error"]["field"] == field, query
    assert "since: a date" in page(form_client.get("/posts?since=yesterday"))


def test_the_posts_list_searches_and_keeps_the_search(form_client, client, sandbox_channels):
    make(client, "Findable words")
    make(client, "Something else")
    text = page(form_client.get("/posts?q=findable"))
    assert "Findable words" in text and "Something else" not in text and 'value="findable"' in text


def test_several_posts_at_once_each_on_its_own(client, form_client, sandbox_channels):
    scheduled = [make(client, f"Scheduled {i}", scheduled_at=iso_in(60)) for i in range(2)]
    draft = make(client, "A draft")
    results = client.post("/api/posts/bulk", json={"action": "cancel", "ids": scheduled + [draft]}).get_json()
    assert [r["ok"] for r in results["results"]] == [True, True, False]
    assert "only a scheduled post, or one awaiting approval, can be cancelled" in results["results"][2]["error"]
    copies = client.post("/api/posts/bulk", json={"action": "duplicate", "ids": [draft]}).get_json()["results"]
    assert copies[0]["ok"] and copies[0]["new_id"] != draft
    gone = form_client.post("/posts/bulk", data={"action": "delete", "ids": [str(draft), str(copies[0]["new_id"])]},
                            follow_redirects=True)
    assert "Deleted 2 of 2 posts." in page(gone)
    assert client.post("/api/posts/bulk", json={"action": "explode", "ids": [1]}).get_json()["error"]["field"] == "action"
    assert client.post("/api/posts/bulk", json={"action": "delete", "ids": []}).get_json()["error"]["field"] == "ids"
