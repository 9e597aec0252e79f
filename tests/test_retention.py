"""Retention drops exactly what the policy says, counts it first in a dry run, and is idempotent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.warehouse.partitions import ensure_month_partitions, partitions
from pipeline.warehouse.retention_store import apply_retention, retention_rules

TODAY = date(2027, 1, 31)  # pinned: the policy counts back from the day it is given


@pytest.fixture
def retention_db(database_factory: Callable[[str], str]) -> str:
    url = database_factory("retention")
    sync = uuid.uuid4()
    with psycopg.connect(url, autocommit=True) as conn:
        # Monthly partitions, as the loader creates them: 2026-07 lies wholly before the cutoff.
        ensure_month_partitions(conn, "raw", "meta_ads_insights_hourly", TODAY - timedelta(days=200), TODAY)
        for days_ago in (0, 34, 35, 200):  # kept, kept (35 days = today and 34 before), dropped, dropped
            conn.execute(
                """insert into raw.meta_ads_insights_hourly (account_id, ad_id, date_start,
                       hourly_stats_aggregated_by_advertiser_time_zone, payload, _sync_id, _extracted_at)
                   values ('act_1', 'ad_1', %s, '00:00:00 - 00:59:59', '{}', %s, now())""",
                (TODAY - timedelta(days=days_ago), sync),
            )
        for days_ago in (89, 90, 400):
            at = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), tzinfo=UTC)
            conn.execute(
                "insert into raw.quarantine (platform, stream, reason, quarantined_at) values ('meta', 's', 'r', %s)",
                (at,),
            )
            conn.execute(
                "insert into app.audit_logs (tenant_id, actor, event, object_type, object_id, details, created_at)"
                " values ('default', 'a', 'e', 'o', '1', '{}', %s)",
                (at - timedelta(days=640),),  # 729, 730 and 1040 days: only the first is within 2 years
            )
    return url


def _rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("raw.meta_ads_insights_hourly", "raw.quarantine", "app.audit_logs")
        }


def test_dry_run_counts_then_the_job_drops_exactly_that(retention_db: str) -> None:
    before = _rows(retention_db)
    with psycopg.connect(retention_db) as conn:
        planned = {r.relation: r.rows for r in apply_retention(conn, TODAY, dry_run=True)}
    assert _rows(retention_db) == before
    assert planned["raw.meta_ads_insights_hourly"] == 2
    assert planned["raw.quarantine"] == 2
    assert planned["app.audit_logs"] == 2
    with psycopg.connect(retention_db) as conn:
        months = {r.relation: r.partitions_dropped for r in apply_retention(conn, TODAY, dry_run=True)}
        # July to November 2026 lie wholly before the cutoff (2026-12-28): dropped whole, not row by row.
        assert months["raw.meta_ads_insights_hourly"] == 5
        done = {r.relation: r.rows for r in apply_retention(conn, TODAY, dry_run=False)}
        kept_months = [p.lower for p in partitions(conn, "raw", "meta_ads_insights_hourly")]
        skipped = {r.relation: r.skipped for r in apply_retention(conn, TODAY, dry_run=False) if r.skipped}
    assert date(2026, 7, 1) not in kept_months and date(2026, 12, 1) in kept_months
    assert done == planned
    assert _rows(retention_db) == {
        "raw.meta_ads_insights_hourly": 2,
        "raw.quarantine": 1,
        "app.audit_logs": 1,
    }
    assert skipped == {  # the hourly marts of a warehouse dbt never built
        "marts.fct_ad_performance_hourly": "not built yet",
        "marts.fct_campaign_performance_hourly": "not built yet",
    }
    with psycopg.connect(retention_db) as conn:
        assert sum(r.rows for r in apply_retention(conn, TODAY, dry_run=False)) == 0


def test_policy_days_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADSIGNAL_RETENTION_HOURLY_RAW_DAYS", "10")
    rules = {r.relation: r.keep_days for r in retention_rules()}
    assert rules["raw.meta_ads_insights_hourly"] == 10
    assert rules["marts.fct_campaign_performance_hourly"] == 7
    monkeypatch.setenv("ADSIGNAL_RETENTION_HOURLY_DAYS", "zero")
    with pytest.raises(ValueError, match="ADSIGNAL_RETENTION_HOURLY_DAYS"):
        retention_rules()


def test_cli_dry_run_says_so(retention_db: str) -> None:
    result = CliRunner().invoke(main, ["db", "retention", "--dry-run"], env={"DATABASE_URL": retention_db})
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "raw.quarantine" in result.output
