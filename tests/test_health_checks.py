"""Data-health asset checks: signal health per platform and source freshness, as real Dagster runs.

The verdict logic is tested pure; the checks then run in real jobs against a private database whose
``marts.fct_signal_health_daily`` / ``raw.sync_runs`` rows the test writes itself (the dbt model that
normally fills the mart is covered by tests/test_pipeline.py and tests/test_dbt_models.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import psycopg
import pytest
from psycopg.types.json import Jsonb

from pipeline.analytics.health_checks import (
    FreshnessThresholds,
    HealthRow,
    SyncState,
    evaluate_freshness,
    evaluate_signal_health,
    threshold_from_dbt,
)
from pipeline.connectors import CONNECTORS
from pipeline.defs import health_checks
from pipeline.defs.ingestion import raw_assets
from pipeline.defs.partitions import daily_partitions, range_tags
from pipeline.defs.resources import PlatformsResource, WarehouseResource

DAY = date(2026, 11, 10)
MISSING = [{"check": "completeness_missing_day", "detail": "no rows for the day"}]
STALE = [{"check": "freshness_sync_age", "detail": "last succeeded sync 80 h ago"}]


def row(
    platform: str, account: str, day: date, status: str, score: int, issues: list | None = None
) -> HealthRow:
    return HealthRow(platform, account, day, status, score, score, score, score, issues or [])


# -- pure verdicts ---------------------------------------------------------------------------------


def test_healthy_days_pass_and_days_outside_the_window_do_not_count() -> None:
    rows = [row("meta", "1", DAY, "healthy", 100), row("meta", "1", DAY - timedelta(5), "unhealthy", 20)]
    verdict = evaluate_signal_health("meta", rows, DAY - timedelta(1), DAY)
    assert verdict.passed
    assert verdict.metadata["account_days_scored"] == 1 and verdict.metadata["accounts"] == []


def test_degraded_warns_unhealthy_errs_and_the_evidence_names_accounts_days_and_issues() -> None:
    degraded = [row("meta", "1", DAY, "degraded", 76, MISSING), row("meta", "2", DAY, "healthy", 100)]
    verdict = evaluate_signal_health("meta", degraded, DAY, DAY)
    assert (verdict.passed, verdict.severity) == (False, "warn")
    assert verdict.metadata["accounts"] == ["1"] and verdict.metadata["days"] == [DAY.isoformat()]
    assert verdict.metadata["problems"][0]["issues"] == ["completeness_missing_day: no rows for the day"]
    assert "completeness_missing_day" in verdict.description and "account 1" in verdict.description

    worse = [*degraded, row("meta", "3", DAY - timedelta(1), "unhealthy", 30, STALE)]
    verdict = evaluate_signal_health("meta", worse, DAY - timedelta(1), DAY)
    assert (verdict.passed, verdict.severity) == (False, "error")
    assert verdict.metadata["unhealthy_account_days"] == 1 and verdict.metadata["degraded_account_days"] == 1
    assert verdict.metadata["problems"][0]["account_id"] == "3", "the worst account-day comes first"
    assert "| 3 | 2026-11-09 | unhealthy | 30 |" in verdict.metadata["details"]


def test_an_unknown_status_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="unknown signal health status"):
        evaluate_signal_health("meta", [row("meta", "1", DAY, "fine", 100)], DAY, DAY)


def test_freshness_thresholds_come_from_dbt_and_old_or_missing_syncs_fail() -> None:
    assert threshold_from_dbt({"count": 36, "period": "hour"}) == timedelta(hours=36)
    assert threshold_from_dbt({"count": None, "period": None}) is None
    with pytest.raises(ValueError, match="period"):
        threshold_from_dbt({"count": 1, "period": "week"})
    thresholds = FreshnessThresholds(timedelta(hours=36), timedelta(hours=72))
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)

    def state(account: str, hours_ago: float | None, status: str = "succeeded") -> SyncState:
        succeeded = None if hours_ago is None else now - timedelta(hours=hours_ago)
        return SyncState(account, succeeded, now - timedelta(hours=1), status)

    assert evaluate_freshness("meta", [state("1", 2)], now, thresholds).passed
    warn = evaluate_freshness("meta", [state("1", 2), state("2", 40)], now, thresholds)
    assert (warn.passed, warn.severity, warn.metadata["stale_accounts"]) == (False, "warn", ["2"])
    error = evaluate_freshness("meta", [state("1", 40), state("3", None, "failed")], now, thresholds)
    assert (error.passed, error.severity) == (False, "error")
    assert "3 (never)" in error.description
    nothing = evaluate_freshness("meta", [], now, thresholds)
    assert (nothing.passed, nothing.severity) == (False, "error")


# -- real Dagster runs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("health_checks")


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_check_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def test_signal_health_checks_fail_red_for_an_unhealthy_platform_over_the_run_window(
    warehouse_url: str, warehouse: psycopg.Connection, instance: dg.DagsterInstance
) -> None:
    # The columns of the dbt model the checks read (the model itself is tested with dbt).
    warehouse.execute("create schema if not exists marts")
    warehouse.execute(
        "create table marts.fct_signal_health_daily (date_day date, platform text, account_id text,"
        " as_of_day date, freshness_score int, completeness_score int, accuracy_score int,"
        " health_score int, status text, issues jsonb, tenant_id text not null default 'default')"
    )
    rows = [
        ("meta", "m1", DAY - timedelta(1), "healthy", 100, []),
        ("meta", "m1", DAY, "unhealthy", 35, STALE),
        ("meta", "m2", DAY, "degraded", 76, MISSING),
        ("google_ads", "g1", DAY, "degraded", 76, MISSING),
        ("tiktok", "t1", DAY, "healthy", 100, []),
        ("tiktok", "t1", DAY - timedelta(9), "unhealthy", 20, STALE),  # before the window
        ("linkedin", "l1", DAY, "healthy", 100, []),
    ]
    for platform, account, day, status, score, issues in rows:
        warehouse.execute(
            "insert into marts.fct_signal_health_daily values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (day, platform, account, DAY, score, score, score, score, status, Jsonb(issues)),
        )
    # Another tenant holds account m1 too, degraded where the default tenant's m1 is not: named apart.
    warehouse.execute(
        "insert into marts.fct_signal_health_daily values (%s, 'meta', 'm1', %s, 76, 76, 76, 76, 'degraded', %s,"
        " 'acme')",
        (DAY - timedelta(1), DAY, Jsonb(MISSING)),
    )
    job = dg.define_asset_job(
        "signal_health_only",
        selection=dg.AssetSelection.checks(health_checks.signal_health_checks),
        partitions_def=daily_partitions,
    )
    defs = dg.Definitions(
        assets=[dg.AssetSpec(health_checks.SIGNAL_HEALTH_ASSET, partitions_def=daily_partitions)],
        asset_checks=[health_checks.signal_health_checks],
        jobs=[job],
        resources={"warehouse": WarehouseResource(url=warehouse_url)},
    )
    result = defs.resolve_job_def("signal_health_only").execute_in_process(
        instance=instance, tags=range_tags(DAY - timedelta(2), DAY)
    )
    assert result.success  # a failed check is a finding, not a failed run
    found = evaluations(result)
    meta = found["marts/fct_signal_health_daily:signal_health_meta"]
    assert not meta.passed and meta.severity == dg.AssetCheckSeverity.ERROR
    assert meta.metadata["accounts"].value == ["acme/m1", "m1", "m2"]
    assert meta.metadata["days"].value == [(DAY - timedelta(1)).isoformat(), DAY.isoformat()]
    assert meta.metadata["unhealthy_account_days"].value == 1
    assert meta.metadata["window"].value == f"{DAY - timedelta(2)}..{DAY}"
    google = found["marts/fct_signal_health_daily:signal_health_google_ads"]
    assert not google.passed and google.severity == dg.AssetCheckSeverity.WARN
    assert found["marts/fct_signal_health_daily:signal_health_tiktok"].passed  # its bad day is outside
    assert found["marts/fct_signal_health_daily:signal_health_imported_platforms"].passed
    assert (
        found["marts/fct_signal_health_daily:signal_health_snapchat"].metadata["account_days_scored"].value
        == 0
    )
    # What the UI shows: the latest evaluation of the check, failed with ERROR severity.
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [health_checks.signal_health_check_key("meta")]
    )[health_checks.signal_health_check_key("meta")]
    evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR


def test_source_freshness_job_flags_accounts_whose_syncs_stopped(
    warehouse_url: str, warehouse: psycopg.Connection, instance: dg.DagsterInstance
) -> None:
    def sync(platform: str, stream: str, account: str, hours_ago: float, status: str) -> None:
        warehouse.execute(
            "insert into raw.sync_runs (sync_id, platform, stream, account_id, started_at, finished_at, status)"
            " values (gen_random_uuid(), %s, %s, %s, now() - make_interval(secs => %s),"
            " now() - make_interval(secs => %s), %s)",
            (platform, stream, account, hours_ago * 3600 + 60, hours_ago * 3600, status),
        )

    sync("meta", "ads_insights_daily", "fresh", 2, "succeeded")
    sync("meta", "ads_insights_daily", "late", 50, "succeeded")
    sync("meta", "ads_insights_daily", "late", 1, "failed")  # failing since: 50 h without success
    sync("tiktok", "ads_insights_daily", "broken", 1, "failed")
    sync("tiktok", "ads_insights_daily", "gone", 24 * 40, "succeeded")  # no attempt in 30 days: ignored
    for platform in ("google_ads", "snapchat", "microsoft_ads"):
        sync(platform, "ads_insights_daily", "a", 1, "succeeded")
        sync(platform, "ads_insights_hourly", "a", 1, "succeeded")
    sync("meta", "ads_insights_hourly", "fresh", 5, "succeeded")  # hourly: warn after 3 h

    defs = dg.Definitions(
        assets=raw_assets(),
        asset_checks=health_checks.freshness_checks,
        jobs=[health_checks.source_freshness_job],
        resources={"warehouse": WarehouseResource(url=warehouse_url), "platforms": PlatformsResource()},
    )
    result = defs.resolve_job_def("source_freshness").execute_in_process(instance=instance)
    assert result.success
    found = evaluations(result)
    performance_streams = [s for cls in CONNECTORS.values() for s in cls.streams.values() if s.window_column]
    assert len(found) == len(performance_streams)  # every platform's daily (and hourly) insights
    meta = found["raw/meta_ads_insights_daily:source_freshness"]
    assert not meta.passed and meta.severity == dg.AssetCheckSeverity.WARN
    assert meta.metadata["stale_accounts"].value == ["late"]
    tiktok = found["raw/tiktok_ads_insights_daily:source_freshness"]
    assert not tiktok.passed and tiktok.severity == dg.AssetCheckSeverity.ERROR
    assert [a["account_id"] for a in tiktok.metadata["accounts"].value] == ["broken"]
    assert not found["raw/tiktok_ads_insights_hourly:source_freshness"].passed  # never synced
    assert not found["raw/meta_ads_insights_hourly:source_freshness"].passed
    assert found["raw/google_ads_ads_insights_daily:source_freshness"].passed


def test_the_daily_and_intraday_jobs_run_the_checks_of_their_assets() -> None:
    from pipeline.definitions import build_definitions

    defs = build_definitions()
    daily = {node.name for node in defs.resolve_job_def("daily_pipeline").nodes}
    intraday = {node.name for node in defs.resolve_job_def("intraday_pipeline").nodes}
    assert "signal_health_checks" in daily
    assert "raw__meta_ads_insights_daily_source_freshness" in daily
    assert "raw__meta_ads_insights_hourly_source_freshness" in intraday
    assert "signal_health_checks" not in intraday
