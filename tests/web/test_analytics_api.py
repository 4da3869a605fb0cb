"""How posts did, through the API: a post's numbers and curve, a period's totals
beside the previous one, a channel's days, the best posts, the best times to
post, the CSV export and the ``post.metrics_updated`` webhook event."""
import csv
import datetime as dt
import io

from socialpub import db
from socialpub.models import OutboxEvent, PostMetrics, Publication, WebhookEndpoint, utcnow
from tests.support.analytics import collect as _collect


def test_a_posts_numbers_and_curve_are_read_through_the_api(client, publish_and_drain, sandbox_channels,
                                                             sandbox_client, settings):
    post_id = publish_and_drain(networks=["facebook", "instagram", "linkedin"])
    sandbox_client.configure(instagram={"insights_speed": 1, "insights_later_s": 3600})
    with db.database.connection_context():
        _collect(settings, utcnow())
        sandbox_client.configure(instagram={"insights_later_s": 3 * 3600})
        _collect(settings, utcnow() + dt.timedelta(minutes=16))
    body = client.get(f"/api/posts/{post_id}/metrics").get_json()
    items = {i["network"]: i for i in body["publications"]}
    assert set(items) == {"facebook", "instagram", "linkedin"}
    for network, item in items.items():
        assert len(item["readings"]) == 2, network
        assert item["readings"][-1]["views"] == item["metrics"]["views"] > item["readings"][0]["views"]
        assert item["engagement"] is not None and item["next_read_at"] is not None
    assert items["instagram"]["metrics"]["clicks"] is None  # not available, never 0
    assert client.get("/api/posts/999999/metrics").status_code == 404


def test_the_periods_totals_sum_its_items_and_compare_with_the_period_before(
        client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    first = publish_and_drain(networks=["facebook", "linkedin"])
    second = publish_and_drain(networks=["facebook"])
    sandbox_client.configure(instagram={"insights_later_s": 6 * 3600})
    with db.database.connection_context():
        _collect(settings, utcnow())
        rows = list(PostMetrics.select())
        # One item as if published last month: it counts in the period before, not in this one.
        old = next(r for r in rows if r.network == "linkedin")
        PostMetrics.update(published_at=utcnow() - dt.timedelta(days=30)).where(
            PostMetrics.publication == old.publication_id).execute()
    body = client.get("/api/analytics").get_json()
    recent = [r for r in rows if r.publication_id != old.publication_id]
    assert body["totals"]["items"] == 2 and body["previous"]["totals"]["items"] == 1
    assert body["totals"]["views"] == sum(r.views for r in recent)
    assert body["previous"]["totals"]["clicks"] == old.clicks
    assert body["totals"]["saves"] is None  # neither Facebook item gives saves
    assert {b["post_id"] for b in body["best_posts"]} == {first, second}
    assert [c["network"] for c in body["channels"]] == ["facebook"] and body["channels"][0]["followers"] == 1250
    only_linkedin = client.get(f"/api/analytics?channel={sandbox_channels['linkedin']}").get_json()
    assert only_linkedin["totals"]["items"] == 0 and only_linkedin["previous"]["totals"]["items"] == 1
    channel = client.get(f"/api/channels/{sandbox_channels['facebook']}/metrics").get_json()
    assert channel["totals"]["items"] == 2 and channel["days"][-1]["followers"] == 1250


def test_a_bad_period_is_refused_naming_the_field(client):
    for query, field in (("from=yesterday", "from"), ("to=2026-02-30", "to"),
                         ("from=2026-03-01&to=2026-01-01", "from"), ("from=2020-01-01&to=2026-01-01", "from")):
        response = client.get(f"/api/analytics?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]["field"] == field, query


def test_the_export_is_a_csv_line_per_item_with_empty_cells_for_what_a_network_does_not_give(
        client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    publish_and_drain(networks=["instagram", "linkedin"], text="=HYPERLINK(\"http://x\") is not a formula here")
    sandbox_client.configure(instagram={"insights_later_s": 3600})
    with db.database.connection_context():
        _collect(settings, utcnow())
    response = client.get("/api/analytics/export")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {line["network"] for line in lines} == {"instagram", "linkedin"}
    instagram = next(line for line in lines if line["network"] == "instagram")
    assert instagram["clicks"] == "" and int(instagram["views"]) > 0
    assert all(line["text"].startswith("'=") for line in lines)


def test_best_times_rest_on_the_channels_own_posts_and_are_offered_as_posting_times(
        client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    for _ in range(3):
        publish_and_drain(networks=["linkedin"])
    sandbox_client.configure(instagram={"insights_later_s": 3600})
    with db.database.connection_context():
        _collect(settings, utcnow())
    body = client.get(f"/api/channels/{sandbox_channels['linkedin']}/best-times").get_json()
    assert body["posts"] == 3 and len(body["cells"]) in (1, 2)  # all three within the hour, or across it
    busiest = max(body["cells"], key=lambda c: c["posts"])
    assert busiest["confidence"] in ("low", "medium") and busiest["posts"] >= 2
    assert {"weekday": busiest["weekday"], "time": f"{busiest['hour']:02d}:00"} in body["suggested"]


def test_numbers_that_moved_are_told_to_webhook_endpoints_as_post_metrics_updated(
        client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    response = client.post("/api/webhooks", json={"url": "https://hooks.example.com/in",
                                                  "events": ["post.metrics_updated"]})
    assert response.status_code == 201, response.get_json()
    post_id = publish_and_drain(networks=["linkedin"])
    sandbox_client.configure(instagram={"insights_later_s": 3600})
    with db.database.connection_context():
        _collect(settings, utcnow())
        _collect(settings, utcnow() + dt.timedelta(minutes=1))  # not due: nothing read, nothing told
        events = list(OutboxEvent.select().where(OutboxEvent.type == "post.metrics_updated"))
        publication = Publication.get(Publication.post == post_id)
        assert WebhookEndpoint.select().count() == 1
    assert len(events) == 1
    data = events[0].payload["data"]
    assert data["id"] == post_id and data["publications"][0]["id"] == publication.id
    assert data["publications"][0]["views"] > 0 and data["publications"][0]["saves"] is None


def test_use_these_times_makes_the_best_times_the_channels_posting_times(
        form_client, client, publish_and_drain, sandbox_channels, sandbox_client, settings):
    for _ in range(2):
        publish_and_drain(networks=["linkedin"])
    channel_id = sandbox_channels["linkedin"]
    # Before any numbers: nothing to suggest, and the queue stays as it is.
    response = form_client.post(f"/analytics/channels/{channel_id}/use-best-times", follow_redirects=True)
    assert "not enough history yet" in response.get_data(as_text=True)
    assert client.get(f"/api/channels/{channel_id}").get_json()["queue"] is None
    sandbox_client.configure(instagram={"insights_later_s": 3600})
    with db.database.connection_context():
        _collect(settings, utcnow())
    suggested = client.get(f"/api/channels/{channel_id}/best-times").get_json()["suggested"]
    response = form_client.post(f"/analytics/channels/{channel_id}/use-best-times", follow_redirects=True)
    assert "now posts from its queue at its best times" in response.get_data(as_text=True)
    queue = client.get(f"/api/channels/{channel_id}").get_json()["queue"]
    assert queue["zone"] == "UTC" and queue["slots"] == suggested and suggested
