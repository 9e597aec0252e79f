"""End to end: sandbox Meta API → connector → raw → dbt → alerts, as real Dagster runs.

One sandbox world with a pinned clock; every test runs the `daily_pipeline` job the way the demo
and the schedule do (one run over a window of daily partitions) against real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from pipeline.dbt_manifest import prepare_manifest
from pipeline.defs.partitions import range_tags
from pipeline.sandbox.server import SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 15)  # the sandbox's "today": fixed, so every run sees the same world
HISTORY_DAYS = 30


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    world = World(default_scenario(today=TODAY, history_days=HISTORY_DAYS))
    world.now = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
    with SandboxServer(world) as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(warehouse_url: str, sandbox: SandboxServer) -> dg.Definitions:
    prepare_manifest()
    from pipeline.definitions import build_definitions

    return build_definitions(warehouse_url=warehouse_url, sandbox_url=sandbox.url)


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def run(
    defs: dg.Definitions, instance: dg.DagsterInstance, first: date, last: date
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("daily_pipeline").execute_in_process(
        instance=instance, tags=range_tags(first, last), raise_on_error=False
    )


def snapshot(conn: psycopg.Connection) -> dict[str, tuple]:
    """Row counts and money sums of every layer, to compare runs."""
    queries = {
        "raw": "select count(*), sum((payload->>'spend')::numeric) from raw.meta_ads_insights_daily",
        "fct_ad": "select count(*), sum(spend), sum(conversions), sum(conversion_value) from marts.fct_ad_performance_daily",
        "fct_campaign": "select count(*), sum(spend), sum(conversions) from marts.fct_campaign_performance_daily",
        "dim_campaigns": "select count(*) from marts.dim_campaigns",
        "alerts": "select count(*), string_agg(alert_type || ':' || entity_id, ',' order by alert_type, entity_id)"
        " from app.alerts",
    }
    return {name: conn.execute(sql).fetchone() for name, sql in queries.items()}


@pytest.fixture(scope="module")
def first_run(pipeline: dg.Definitions, instance: dg.DagsterInstance, warehouse_url: str) -> dict[str, tuple]:
    result = run(pipeline, instance, TODAY - timedelta(HISTORY_DAYS), TODAY - timedelta(1))
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    with psycopg.connect(warehouse_url) as conn:
        return snapshot(conn)


def test_marts_hold_the_window_with_ground_truth_totals(
    first_run: dict, sandbox: SandboxServer, warehouse: psycopg.Connection
) -> None:
    world = sandbox.world
    days = [TODAY - timedelta(d) for d in range(1, HISTORY_DAYS + 1)]
    for account in world.accounts("meta"):
        expected_spend = 0.0
        expected_conversions = 0
        for ad in world.ads("meta", account.id):
            for day in days:
                metrics = world.ad_day(ad, day)
                if metrics is not None:
                    expected_spend += round(metrics.spend, 2)
                    expected_conversions += metrics.conversions
        n_days, spend, conversions = warehouse.execute(
            "select count(distinct date_day), sum(spend), sum(conversions)"
            " from marts.fct_ad_performance_daily where platform = 'meta' and account_id = %s",
            (account.id,),
        ).fetchone()
        missing = sum(world.is_missing_day(account, day) for day in days)
        assert n_days == HISTORY_DAYS - missing
        assert float(spend) == pytest.approx(expected_spend, abs=0.01)
        assert float(conversions) == expected_conversions
    assert any(world.is_missing_day(a, d) for a in world.accounts("meta") for d in days), (
        "scenario lost its gap"
    )


def test_incidents_raise_alerts_and_healthy_campaigns_stay_quiet(
    first_run: dict, sandbox: SandboxServer, warehouse: psycopg.Connection
) -> None:
    incidents = {i.campaign_id: i.kind for i in sandbox.world.incidents if i.campaign_id}
    alerted = dict(
        warehouse.execute("select entity_id, alert_type from app.alerts where status = 'open'").fetchall()
    )
    tracking_break = next(c for c, kind in incidents.items() if kind == "tracking_break")
    conversion_drop = next(c for c, kind in incidents.items() if kind == "cvr_drop")
    assert alerted.get(tracking_break) == "ZERO_CONVERSIONS"
    assert alerted.get(conversion_drop) == "ROAS_DROP"
    assert set(alerted) <= set(incidents), "an alert fired on a healthy campaign"
    evidence = warehouse.execute(
        "select evidence, current_value, baseline_value from app.alerts where entity_id = %s",
        (tracking_break,),
    ).fetchone()
    assert evidence[0] and evidence[1] == 0 and evidence[2] > 0


def test_running_again_changes_nothing(
    first_run: dict, pipeline: dg.Definitions, instance: dg.DagsterInstance, warehouse: psycopg.Connection
) -> None:
    result = run(pipeline, instance, TODAY - timedelta(HISTORY_DAYS), TODAY - timedelta(1))
    assert result.success
    assert snapshot(warehouse) == first_run


def test_restated_days_converge_without_duplicates(
    first_run: dict,
    pipeline: dg.Definitions,
    instance: dg.DagsterInstance,
    sandbox: SandboxServer,
    warehouse: psycopg.Connection,
) -> None:
    def conversions_of(day: date) -> float:
        return float(
            warehouse.execute(
                "select coalesce(sum(conversions), 0) from marts.fct_ad_performance_daily where date_day = %s",
                (day,),
            ).fetchone()[0]
        )

    recent = TODAY - timedelta(1)
    before = conversions_of(recent)
    sandbox.world.advance(days=3)  # attribution matures: the platform restates recent days upward
    try:
        result = run(pipeline, instance, TODAY - timedelta(7), TODAY + timedelta(1))
        assert result.success
        after = conversions_of(recent)
        truth = sum(
            m.conversions
            for account in sandbox.world.accounts("meta")
            for ad in sandbox.world.ads("meta", account.id)
            if (m := sandbox.world.ad_day(ad, recent)) is not None
        )
        assert after == truth
        assert after > before
        duplicates = warehouse.execute(
            "select count(*) from (select 1 from marts.fct_ad_performance_daily"
            " group by date_day, platform, account_id, ad_id having count(*) > 1) d"
        ).fetchone()[0]
        assert duplicates == 0
        raw_spend, mart_spend = warehouse.execute(
            "select (select sum((payload->>'spend')::numeric) from raw.meta_ads_insights_daily),"
            " (select sum(spend) from marts.fct_ad_performance_daily)"
        ).fetchone()
        assert raw_spend == mart_spend
    finally:
        sandbox.world.now = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)


def test_a_bad_token_fails_fast_without_leaking_it(
    pipeline: dg.Definitions,
    instance: dg.DagsterInstance,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "EAAB-not-a-valid-token-1234567890"
    monkeypatch.setenv("META_ACCESS_TOKEN", token)
    monkeypatch.setenv("META_API_BASE_URL", sandbox.base_url("meta"))
    assert token not in SANDBOX_TOKENS.values()
    result = run(pipeline, instance, TODAY - timedelta(2), TODAY - timedelta(1))
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures, "the run failed without a failed step"
    message = failures[0].step_failure_data.error.message
    assert "meta" in message.lower() and "token" in message.lower()
    logs = "\n".join(
        str(record.dagster_event or record.user_message) for record in instance.all_logs(result.run_id)
    )
    assert token not in logs
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert not retries, "a credentials error must not be retried"
