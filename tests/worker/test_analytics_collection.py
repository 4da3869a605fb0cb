"""Collecting how published posts did: each item read from its network's
insights on an age-banded schedule, its numbers kept as history when they
move, retired metric names dropped without failing, thresholds and rate limits
met without a failed job, and each account's numbers once a day."""
import datetime as dt

from socialpub import db
from socialpub.analytics import collection
from socialpub.models import Channel, ChannelMetrics, MetricReading, PostMetrics, Publication, utcnow
from socialpub.networks import get_adapter
from socialpub.networks.base import ErrorKind, PublishError
from socialpub.networks.insights import read_graph_insights
from tests.support.analytics import collect as _collect


def _metrics(post_id):
    rows = PostMetrics.select().join(Publication).where(Publication.post == post_id)
    return {row.network: row for row in rows}


def test_a_published_post_is_read_from_each_networks_insights_and_its_numbers_grow_as_history(
        publish_and_drain, sandbox_channels, sandbox_client, settings):
    post_id = publish_and_drain(networks=["facebook", "instagram", "linkedin"])
    sandbox_client.configure(instagram={"insights_speed": 1, "insights_later_s": 3600})
    with db.database.connection_context():
        start = utcnow() + dt.timedelta(minutes=1)
        sent, _ = _collect(settings, now=start)
        assert sorted(len(ids) for _, ids in sent) == [1, 1, 1]
        first = _metrics(post_id)
        for network, row in first.items():
            assert row.reads == 1 and row.views and row.reach and row.reactions is not None, network
            assert row.next_read_at == start + dt.timedelta(minutes=15), network
        assert first["linkedin"].clicks is not None and first["instagram"].clicks is None  # not available, never 0
        assert first["instagram"].saves is not None and first["facebook"].saves is None
        # Nothing is due before its next read; at it, the numbers have grown and a second reading is kept.
        assert _collect(settings, now=start + dt.timedelta(minutes=5))[0] == []
        later = start + dt.timedelta(minutes=16)
        sandbox_client.configure(instagram={"insights_later_s": 2 * 3600})
        _collect(settings, now=later)
        second = _metrics(post_id)
        for network, row in second.items():
            assert row.reads == 2 and row.views > first[network].views, network
            readings = list(MetricReading.select().where(MetricReading.publication == row.publication_id)
                            .order_by(MetricReading.taken_at))
            assert [r.views for r in readings] == [first[network].views, row.views], network


def test_an_items_reads_thin_out_with_its_age_and_stop_after_ninety_days():
    published = dt.datetime(2026, 1, 1)
    gaps = [collection.next_read(published, published + age) - (published + age)
            for age in (dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(days=3), dt.timedelta(days=10),
                        dt.timedelta(days=60))]
    assert gaps == [dt.timedelta(minutes=15), dt.timedelta(hours=1), dt.timedelta(hours=6), dt.timedelta(days=1),
                    dt.timedelta(days=7)]
    assert collection.next_read(published, published + dt.timedelta(days=91)) is None


def test_a_metric_the_network_retired_is_dropped_and_the_rest_are_read(sandbox_channels, sandbox, settings,
                                                                        publish_and_drain, caplog):
    post_id = publish_and_drain(networks=["facebook", "instagram"])
    with db.database.connection_context():
        publications = {p.network: p for p in Publication.select().where(Publication.post == post_id)}
        channels = {c.network: c for c in Channel.select()}
    from socialpub.lifecycle.delivery import target_of
    from socialpub.networks.graph import credentials, graph_call
    for network, names in (("instagram", {"impressions": "views", "reach": "reach", "plays": "views"}),
                           ("facebook", {"post_impressions_unique": "reach", "post_media_view": "views"})):
        target = target_of(channels[network], channels[network].token)
        url = f"{target.base_url}/{publications[network].external_id}/insights"
        values, dropped = read_graph_insights(network, lambda metrics: graph_call(
            network, get_adapter(network).timeouts, "GET", url, **credentials(target),
            params={"metric": ",".join(metrics)}), names)
        assert set(dropped) == set(names) - {"reach", "post_media_view"}, network
        assert list(values) == [names[n] for n in names if n not in dropped], network
    assert "no longer serves the metric" in caplog.text


def test_a_refusal_that_is_not_a_retired_metric_is_raised_not_swallowed():
    def refuse(metrics):
        raise PublishError("instagram", "(#10) Not enough viewers for the media to show insights", code=10,
                           kind=ErrorKind.PERMANENT)
    try:
        read_graph_insights("instagram", refuse, {"views": "views"})
    except PublishError as exc:
        assert str(exc.code) == "10"
    else:
        raise AssertionError("the threshold refusal was swallowed")


def test_a_rate_limited_channel_is_read_again_later_and_the_job_does_not_fail(
        publish_and_drain, sandbox_channels, sandbox_client, settings):
    post_id = publish_and_drain(networks=["instagram"])
    sandbox_client.configure(instagram={"insights_fail": "rate_limit"})
    with db.database.connection_context():
        now = utcnow() + dt.timedelta(minutes=1)
        _collect(settings, now=now)
        row = _metrics(post_id)["instagram"]
        assert row.reads == 0 and row.views is None
        assert row.next_read_at >= now + collection.RATE_LIMIT_PAUSE


def test_each_accounts_followers_are_read_once_a_day(publish_and_drain, sandbox_channels, sandbox_client,
                                                     settings):
    publish_and_drain(networks=["facebook"])
    sandbox_client.configure(instagram={"insights_later_s": 3600})
    with db.database.connection_context():
        now = utcnow()
        _, accounts = _collect(settings, now=now)
        assert sorted(accounts) == sorted(sandbox_channels.values())
        assert _collect(settings, now=now + dt.timedelta(hours=2))[1] == []  # read today already
        days = {Channel.get_by_id(r.channel_id).network: r for r in ChannelMetrics.select()}
        assert days["facebook"].followers == 1250 and days["instagram"].followers == 1250
        assert days["linkedin"].followers == 1250 and days["whatsapp"].followers is not None
        assert days["facebook"].reach and days["facebook"].views  # the day's post
        tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(1))
        assert sorted(_collect(settings, now=tomorrow)[1]) == sorted(sandbox_channels.values())


def test_a_channel_connected_without_the_permission_to_read_insights_gets_a_note_not_a_failure(
        publish_and_drain, sandbox, sandbox_channels, sandbox_client, settings):
    post_id = publish_and_drain(networks=["instagram", "linkedin"])
    sandbox_client.configure(instagram={"insights_later_s": 3600})
    sandbox_state = sandbox.server.app.extensions["sandbox"]
    # Tokens as the networks would issue them to a person who unticked the insights permissions.
    instagram = sandbox_state.issue_token("app", ["instagram_basic", "instagram_content_publish"], 3600)
    member = sandbox_state.issue_token("app", ["openid", "profile", "w_member_social"], 3600)
    from socialpub.intake.channels import update_channel
    with db.database.connection_context():
        update_channel(Channel.get_by_id(sandbox_channels["instagram"]), {"token": instagram["access_token"]})
        publication = Publication.get((Publication.post == post_id) & (Publication.network == "linkedin"))
        # The LinkedIn item as a member's post: member analytics need r_member_postAnalytics.
        Channel.update(account_id="urn:li:person:782bbtaQ").where(Channel.id == sandbox_channels["linkedin"]).execute()
        update_channel(Channel.get_by_id(sandbox_channels["linkedin"]), {"token": member["access_token"]})
        now = utcnow()
        _collect(settings, now=now)
        rows = _metrics(post_id)
    for network in ("instagram", "linkedin"):
        assert rows[network].views is None, network
        assert "without the permission to read its posts' numbers" in rows[network].note, network
        assert rows[network].next_read_at == now + collection.UNREADABLE_PAUSE, network
    assert publication.status == "published"
