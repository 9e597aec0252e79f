"""The alert assets as real Dagster materializations over marts tables in a private database.

The marts are written directly (the shapes dbt builds) so each test controls exactly what the
detectors see: a missing day for the daily asset, a spend spike today for the hourly one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb

from pipeline.defs.alerts import alert_assets, alerts, hourly_alerts
from pipeline.defs.automation import daily_selection, hourly_selection
from pipeline.defs.resources import WarehouseResource

MARTS = """
create schema if not exists marts;
drop table if exists marts.fct_campaign_performance_daily, marts.dim_campaigns,
    marts.fct_signal_health_daily, marts.fct_campaign_performance_hourly;
create table marts.fct_campaign_performance_daily (
    date_day date, platform text, account_id text, campaign_id text, campaign_name text, currency text,
    fx_rate numeric, spend numeric, impressions bigint, clicks bigint, conversions numeric,
    conversion_value numeric, tenant_id text not null default 'default');
create table marts.dim_campaigns (
    platform text, account_id text, campaign_id text, status text, daily_budget numeric,
    lifetime_budget numeric, start_date date, end_date date, is_inferred boolean, tenant_id text not null default 'default');
create table marts.fct_signal_health_daily (
    date_day date, platform text, account_id text, health_score numeric, status text,
    freshness_score numeric, completeness_score numeric, accuracy_score numeric, issues jsonb, tenant_id text not null default 'default');
create table marts.fct_campaign_performance_hourly (
    hour_start_local timestamp, hour_start_utc timestamptz, date_day date, hour_of_day int, platform text,
    account_id text, campaign_id text, campaign_name text, currency text, spend numeric, impressions bigint,
    clicks bigint, conversions numeric, conversion_value numeric, tenant_id text not null default 'default');
"""
LAST_DAY = date(2026, 11, 14)  # the daily partition: as_of is the 15th
GAP = LAST_DAY - timedelta(days=10)  # the sandbox's missing day: 10 days before the last complete day


@pytest.fixture(scope="module")
def assets_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("alert_assets")


@pytest.fixture
def warehouse_conn(assets_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(assets_url, autocommit=True) as conn:
        conn.execute(MARTS)
        conn.execute("delete from app.alerts")
        yield conn


def load_daily(conn: psycopg.Connection, *, gap_filled: bool, last_day: date = LAST_DAY) -> None:
    conn.execute(
        "delete from marts.fct_campaign_performance_daily; delete from marts.fct_signal_health_daily"
    )
    for age in range(40, -1, -1):
        day = last_day - timedelta(days=age)
        missing = day == GAP and not gap_filled
        for campaign in ("C1", "C2"):
            if not missing:
                conn.execute(
                    "insert into marts.fct_campaign_performance_daily values"
                    " (%s, 'meta', '111', %s, %s, 'EUR', 1.1, 300, 30000, 600, 30, 1500)",
                    (day, campaign, f"Campaign {campaign}"),
                )
        issues = [{"check": "completeness_missing_day", "detail": "no rows"}] if missing else []
        conn.execute(
            "insert into marts.fct_signal_health_daily values (%s, 'meta', '111', %s, %s, 100, %s, 100, %s)",
            (day, 60 if missing else 100, "degraded" if missing else "healthy", 20 if missing else 100,
             Jsonb(issues)),
        )  # fmt: skip


def materialize(
    asset: dg.AssetsDefinition, url: str, partition: str, config: dict | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [asset],
        partition_key=partition,
        resources={"warehouse": WarehouseResource(url=url)},
        run_config={"ops": {asset.op.name: {"config": config}}} if config else None,
    )


def test_the_assets_join_the_daily_and_intraday_jobs() -> None:
    defs = dg.Definitions(assets=alert_assets, resources={"warehouse": WarehouseResource()})
    graph = defs.resolve_asset_graph()
    assert hourly_selection().resolve(graph) == {dg.AssetKey(["app", "hourly_alerts"])}
    assert daily_selection().resolve(graph) == {dg.AssetKey(["app", "alerts"])}


def test_the_missing_day_raises_a_data_alert_not_a_roas_alert(
    warehouse_conn: psycopg.Connection, assets_url: str
) -> None:
    load_daily(warehouse_conn, gap_filled=False)
    result = materialize(alerts, assets_url, LAST_DAY.isoformat())
    assert result.success
    live = warehouse_conn.execute(
        "select alert_type, entity_level, entity_id, status, evidence->'affected_days' from app.alerts"
    ).fetchall()
    assert live == [("DATA_INCOMPLETE", "account", "111", "open", [GAP.isoformat()])]
    metadata = result.asset_materializations_for_node(alerts.op.name)[0].metadata
    assert metadata["alerts_opened"].value == 1

    # Health facts a day behind the run say nothing about recovery: the alert stays.
    next_day = LAST_DAY + timedelta(days=1)
    assert materialize(alerts, assets_url, next_day.isoformat()).success
    assert warehouse_conn.execute("select status, detection_count from app.alerts").fetchall() == [
        ("open", 2)
    ]

    # The platform restates the day: signal health recovers and the data alert resolves itself.
    load_daily(warehouse_conn, gap_filled=True, last_day=next_day)
    result = materialize(alerts, assets_url, next_day.isoformat())
    assert result.success
    assert warehouse_conn.execute("select status, resolved_by from app.alerts").fetchall() == [
        ("resolved", "adsignal:auto")
    ]
    assert result.asset_materializations_for_node(alerts.op.name)[0].metadata["alerts_resolved"].value == 1


TODAY = date(2026, 11, 18)
UTC_OFFSET = timedelta(hours=1)  # the account's clock is UTC+1


def load_hourly(conn: psycopg.Connection, spike_day: date) -> None:
    """A week of hours (and the next day) at ~20/hour; ``spike_day`` spends 2.5x."""
    rng = np.random.default_rng(3)
    conn.execute("delete from marts.fct_campaign_performance_hourly")
    with conn.cursor() as cur:
        for age in range(7, -2, -1):
            day = TODAY - timedelta(days=age)
            for hour in range(24):
                spend = 20.0 * float(rng.lognormal(0, 0.15)) * (2.5 if day == spike_day else 1.0)
                local = datetime(day.year, day.month, day.day, hour)
                cur.execute(
                    "insert into marts.fct_campaign_performance_hourly values"
                    " (%s, %s, %s, %s, 'meta', '111', 'C1', 'Campaign C1', 'EUR', %s, 4000, %s, 1, 50)",
                    (local, (local - UTC_OFFSET).replace(tzinfo=UTC), day, hour, round(spend, 2),
                     int(spend / 0.5)),
                )  # fmt: skip


def test_hourly_alerts_open_on_a_spike_and_resolve_the_next_day(
    warehouse_conn: psycopg.Connection, assets_url: str
) -> None:
    load_hourly(warehouse_conn, spike_day=TODAY)
    at_spike = {"now": "2026-11-18T14:20:00+00:00"}  # 15:20 on the account's clock
    result = materialize(hourly_alerts, assets_url, TODAY.isoformat(), at_spike)
    assert result.success
    rows = warehouse_conn.execute(
        "select alert_type, entity_level, entity_id, status, detected_by, window_start from app.alerts"
        " order by entity_level desc"
    ).fetchall()
    assert ("SPEND_SPIKE", "campaign", "C1", "open", "detector:hourly", TODAY) in rows
    # Again at the same moment: nothing new.
    assert materialize(hourly_alerts, assets_url, TODAY.isoformat(), at_spike).success
    assert warehouse_conn.execute("select count(*), max(detection_count) from app.alerts").fetchone() == (
        len(rows),
        1,
    )

    # The next afternoon spends as usual: the spike alert resolves.
    next_day = {"now": "2026-11-19T14:20:00+00:00"}
    result = materialize(hourly_alerts, assets_url, (TODAY + timedelta(days=1)).isoformat(), next_day)
    assert result.success
    spike = warehouse_conn.execute(
        "select status, resolved_by, resolution->'check'->>'metric' from app.alerts"
        " where alert_type = 'SPEND_SPIKE' and entity_level = 'campaign'"
    ).fetchone()
    assert spike == ("resolved", "adsignal:auto", "spend")


def test_hourly_alerts_are_not_resolved_when_the_hours_are_behind(
    warehouse_conn: psycopg.Connection, assets_url: str
) -> None:
    load_hourly(warehouse_conn, spike_day=TODAY)
    assert materialize(
        hourly_alerts, assets_url, TODAY.isoformat(), {"now": "2026-11-18T14:20:00+00:00"}
    ).success
    # The next day's hours stop arriving after 05:00: too little to call the spike over.
    warehouse_conn.execute(
        "delete from marts.fct_campaign_performance_hourly where date_day = %s and hour_of_day > 5",
        (TODAY + timedelta(days=1),),
    )
    assert materialize(
        hourly_alerts,
        assets_url,
        (TODAY + timedelta(days=1)).isoformat(),
        {"now": "2026-11-19T14:20:00+00:00"},
    ).success
    statuses = warehouse_conn.execute(
        "select status from app.alerts where alert_type = 'SPEND_SPIKE' and entity_level = 'campaign'"
    ).fetchall()
    assert statuses == [("open",)]


def test_a_naive_now_is_rejected(warehouse_conn: psycopg.Connection, assets_url: str) -> None:
    with pytest.raises(Exception, match="UTC offset"):
        materialize(hourly_alerts, assets_url, TODAY.isoformat(), {"now": "2026-11-18T14:20:00"})


def test_each_tenant_is_scored_on_its_own_rows_though_they_share_every_id(
    warehouse_conn: psycopg.Connection, assets_url: str
) -> None:
    """Two tenants hold the same account and campaign ids; only acme misses a day. The default tenant
    stays quiet, acme gets the data alert, and neither's rows reach the other's detection."""
    load_daily(warehouse_conn, gap_filled=True)
    warehouse_conn.execute(
        "insert into app.tenants (tenant_id, name) values ('acme', 'Acme') on conflict do nothing;"
        " update app.tenants set status = 'active' where tenant_id = 'acme'"
    )
    for table in ("fct_campaign_performance_daily", "fct_signal_health_daily"):
        columns = [
            name
            for (name,) in warehouse_conn.execute(
                "select column_name from information_schema.columns where table_schema = 'marts'"
                " and table_name = %s and column_name <> 'tenant_id' order by ordinal_position",
                (table,),
            ).fetchall()
        ]
        listed = ", ".join(columns)
        warehouse_conn.execute(
            f"insert into marts.{table} ({listed}, tenant_id) select {listed}, 'acme' from marts.{table}"
            " where tenant_id = 'default' and date_day <> %s",
            (GAP,),
        )
    warehouse_conn.execute(
        "insert into marts.fct_signal_health_daily (date_day, platform, account_id, health_score, status,"
        " freshness_score, completeness_score, accuracy_score, issues, tenant_id)"
        " values (%s, 'meta', '111', 60, 'degraded', 100, 20, 100, %s, 'acme')",
        (GAP, Jsonb([{"check": "completeness_missing_day", "detail": "no rows"}])),
    )
    try:
        result = materialize(alerts, assets_url, LAST_DAY.isoformat())
        assert result.success
        live = warehouse_conn.execute(
            "select tenant_id, alert_type, entity_id from app.alerts order by tenant_id"
        ).fetchall()
        assert live == [("acme", "DATA_INCOMPLETE", "111")]
        metadata = result.asset_materializations_for_node(alerts.op.name)[0].metadata
        assert metadata["tenants"].value == ["default", "acme"]
        assert metadata["by_tenant"].value["default"]["alerts_opened"] == 0
        assert metadata["alerts_opened"].value == 1  # summed over tenants
    finally:
        warehouse_conn.execute("delete from app.alerts; delete from app.alert_watermarks")
        warehouse_conn.execute("update app.tenants set status = 'disabled' where tenant_id = 'acme'")
