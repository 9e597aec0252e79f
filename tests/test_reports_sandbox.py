"""A report over real marts: the sandbox's Meta and Google Ads accounts synced, dbt building
the daily marts (with their data tests), then every section rendered; the PDF's totals
are the mart's own sums."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from pypdf import PdfReader

from pipeline.connections import sandbox_connection
from pipeline.connectors import CONNECTORS
from pipeline.connectors.csv_import import CSV_STREAMS
from pipeline.ingest import sync_connections
from pipeline.reports.definition import parse_reports
from pipeline.reports.run import run_report
from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.warehouse.db import dbt_window_env
from pipeline.warehouse.loader import ensure_raw_table
from tests.dbt_cli import dbt_ok

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 15)
NOW = datetime.combine(TODAY - timedelta(1), datetime.min.time(), UTC) + timedelta(hours=12)
WINDOW = (date(2026, 10, 31), date(2026, 11, 13))  # the report's 7 days and the 7 before
AS_OF = date(2026, 11, 13)
PLATFORMS = ("meta", "google_ads")

REPORT = """
reports:
  - name: sandbox-weekly
    title: Sandbox weekly
    period: last_7_days
    sections:
      - {type: kpis}
      - {type: platform_table}
      - {type: campaign_table, top: 5}
      - {type: trend}
      - {type: top_movers}
      - {type: alerts}
"""


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = database_factory("reports_sandbox")
    with psycopg.connect(url, autocommit=True) as conn:
        # Every raw table, empty or not: the unions read every platform's staging models.
        for stream in [*(s for c in CONNECTORS.values() for s in c.streams.values()), *CSV_STREAMS.values()]:
            ensure_raw_table(conn, stream)
    world = World(default_scenario(today=TODAY, history_days=16))
    with SandboxServer(world) as server:
        server.world.now = NOW
        for platform in PLATFORMS:
            streams = CONNECTORS[platform].streams.values()
            connections = [sandbox_connection(platform, server.url)]
            sync_connections(url, connections, [s.name for s in streams if s.window_column is None])
            daily = [s.name for s in streams if s.window_column and not s.is_hourly]
            sync_connections(url, connections, daily, since=WINDOW[0], until=WINDOW[1])
    workdir = tmp_path_factory.mktemp("dbt")
    dbt_ok(url, workdir, "build", "--exclude", "*hourly*", env=dbt_window_env(*WINDOW))
    return url


def test_a_report_over_the_sandbox_marts(url: str, tmp_path: Path) -> None:
    (definition,) = parse_reports(REPORT)
    run = run_report(url, definition, AS_OF, tmp_path, now=NOW)
    assert run.instance.status == "succeeded"
    with psycopg.connect(url) as conn:
        spend, by_platform = conn.execute(
            "select sum(spend_reporting), count(distinct platform) from marts.fct_campaign_performance_daily"
            " where tenant_id = 'default' and date_day between %s and %s",
            (date(2026, 11, 7), AS_OF),
        ).fetchone()
        (previous_spend,) = conn.execute(
            "select sum(spend_reporting) from marts.fct_campaign_performance_daily"
            " where tenant_id = 'default' and date_day between %s and %s",
            (date(2026, 10, 31), date(2026, 11, 6)),
        ).fetchone()
    assert spend > 0 and by_platform == len(PLATFORMS)
    assert previous_spend > 0
    (spend_kpi,) = [k for k in run.content.kpis if k.key == "spend"]
    assert (spend_kpi.value, spend_kpi.previous) == (spend, previous_spend)
    assert run.content.totals["spend"] == spend
    assert sum((row["spend"] for row in run.content.platforms), Decimal(0)) == spend

    reader = PdfReader(run.directory / "report.pdf")
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert 1 <= len(reader.pages) <= 3
    assert (
        "Sandbox weekly" in text and f"{spend:,.2f} USD" in text and f"vs {previous_spend:,.2f} USD" in text
    )
    for row in run.content.platforms:
        assert f"{row['platform']} {row['spend']:,.2f} USD" in text
    html = (run.directory / "report.html").read_text()
    assert '<img src="data:image/png;base64,' in html
