"""The Grafana dashboard "Engagement" (grafana/dashboards/engagement.json) reads
socialpub's PostgreSQL through the datasource provisioned beside it: every
panel's SQL, with Grafana's macros expanded as its PostgreSQL datasource
expands them, returns data from a real PostgreSQL after a workload (posts
published to three networks and their numbers collected from the sandbox).

Grafana itself is not installed here (no registry this machine reaches ships
it); its macros are small and documented, so they are expanded the same way:
https://grafana.com/docs/grafana/latest/datasources/postgres/query-editor/#macros
"""
import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

from socialpub import db
from socialpub.models import utcnow
from tests.support.analytics import collect

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "engagement.json"


def expand(sql: str, start: dt.datetime, end: dt.datetime, networks: list) -> str:
    """Grafana's PostgreSQL macros and the dashboard's ``$network`` variable (All: every value, quoted)."""
    instant = lambda t: f"'{t.strftime('%Y-%m-%dT%H:%M:%SZ')}'"  # noqa: E731
    sql = re.sub(r"\$__timeFilter\(([^()]+(?:\([^()]*\))?[^()]*)\)",
                 lambda m: f"{m.group(1)} BETWEEN {instant(start)} AND {instant(end)}", sql)
    seconds = {"1h": 3600, "1d": 86400}

    def group(m):
        column, interval = m.group(1).strip(), seconds[m.group(2).strip()]
        return f'floor(extract(epoch from {column})/{interval})*{interval} AS "time"'
    sql = re.sub(r"\$__timeGroupAlias\(([^,]+),\s*([^)]+)\)", group, sql)
    sql = sql.replace("$network", ", ".join(f"'{n}'" for n in networks))
    assert "$" not in sql, f"an unexpanded macro or variable in {sql}"
    return sql


def test_the_dashboard_reads_the_provisioned_postgresql_datasource():
    dashboard = json.loads(DASHBOARD.read_text())
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "postgres.yml").read_text())["datasources"][0]
    assert source["jsonData"]["database"] == "socialpub" and source["url"] == "postgres:5432"
    used = {(p["datasource"]["type"], p["datasource"]["uid"]) for p in dashboard["panels"]}
    used |= {(t["datasource"]["type"], t["datasource"]["uid"]) for p in dashboard["panels"] for t in p["targets"]}
    assert used == {(source["type"], source["uid"])}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"]) >= 8


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_engagement_panel_returns_data_from_a_real_postgresql(
        publish_and_drain, sandbox_channels, sandbox_client, settings):
    for _ in range(2):
        publish_and_drain(networks=["facebook", "instagram", "linkedin"])
    sandbox_client.configure(instagram={"insights_later_s": 3600})
    with db.database.connection_context():
        now = utcnow()
        collect(settings, now)
        networks = [n for (n,) in db.database.execute_sql("SELECT DISTINCT network FROM channel").fetchall()]
        empty = []
        for panel in json.loads(DASHBOARD.read_text())["panels"]:
            for target in panel["targets"]:
                sql = expand(target["rawSql"], now - dt.timedelta(days=30), now + dt.timedelta(minutes=5), networks)
                rows = db.database.execute_sql(sql).fetchall()
                if not rows or all(value is None for row in rows for value in row):
                    empty.append(panel["title"])
        assert not empty, f"panels without data: {empty}"
