"""End to end: sandbox Meta API → connector → raw → dbt → alerts, as real Dagster runs.

One sandbox world with a pinned clock; every test runs the `daily_pipeline` job the way the demo
and the schedule do (one run over a window of daily partitions) against real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from pipeline import config
from pipeline.dbt_manifest import prepare_manifest
from pipeline.defs.partitions import range_tags
from pipeline.sandbox.server import ROUTERS, SANDBOX_TOKENS, SandboxServer
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
def warehouse_url(database_factory: Callable[[str], str]) -> str:
    """A private database: these tests assert on whole tables, other modules load raw rows too."""
    return database_factory("pipeline")


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module", autouse=True)
def import_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty CSV import folder: the pipeline's CSV asset must not pick up the demo's files."""
    folder = tmp_path_factory.mktemp("imports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADSIGNAL_IMPORT_DIR", str(folder))
        config.settings.cache_clear()
        yield folder
    config.settings.cache_clear()


@pytest.fixture(scope="module")
def pipeline(warehouse_url: str, sandbox: SandboxServer) -> dg.Definitions:
    prepare_manifest(warehouse_url)
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


@pytest.mark.parametrize("platform", sorted(ROUTERS))
def test_marts_hold_the_window_with_ground_truth_totals(
    first_run: dict, sandbox: SandboxServer, warehouse: psycopg.Connection, platform: str
) -> None:
    world = sandbox.world
    days = [TODAY - timedelta(d) for d in range(1, HISTORY_DAYS + 1)]
    for account in world.accounts(platform):
        observed = [
            m for ad in world.ads(platform, account.id) for day in days if (m := world.ad_day(ad, day))
        ]
        n_days, spend, conversions = warehouse.execute(
            "select count(distinct date_day), sum(spend), sum(conversions)"
            " from marts.fct_ad_performance_daily where platform = %s and account_id = %s",
            (platform, account.id),
        ).fetchone()
        missing = sum(world.is_missing_day(account, day) for day in days)
        assert n_days == HISTORY_DAYS - missing
        # Platforms round money to cents or micros per row: allow half a cent per row.
        assert float(spend) == pytest.approx(sum(m.spend for m in observed), abs=0.005 * len(observed))
        assert float(conversions) == sum(m.conversions for m in observed)


def test_the_scenario_still_has_its_missing_day(sandbox: SandboxServer) -> None:
    days = [TODAY - timedelta(d) for d in range(1, HISTORY_DAYS + 1)]
    assert any(sandbox.world.is_missing_day(a, d) for a in sandbox.world.accounts("meta") for d in days)


def test_incidents_raise_alerts_and_healthy_campaigns_stay_quiet(
    first_run: dict, sandbox: SandboxServer, warehouse: psycopg.Connection
) -> None:
    incidents = [i for i in sandbox.world.incidents if i.platform == "meta"]
    incident_campaigns = {i.campaign_id: i.kind for i in incidents if i.campaign_id}
    incident_accounts = {i.account_id for i in incidents}
    rows = warehouse.execute(
        "select entity_level, entity_id, alert_type, status from app.alerts where platform = 'meta'"
        " and alert_type not like 'DATA_%'"
    ).fetchall()
    campaign_alerts = {entity: kind for level, entity, kind, _ in rows if level == "campaign"}
    by_kind = {kind: campaign for campaign, kind in incident_campaigns.items()}
    assert campaign_alerts.get(by_kind["tracking_break"]) == "ZERO_CONVERSIONS"
    assert campaign_alerts.get(by_kind["cvr_drop"]) == "ROAS_DROP"
    assert set(campaign_alerts) <= set(incident_campaigns), "an alert fired on a healthy campaign"
    assert {entity for level, entity, *_ in rows if level == "account"} <= incident_accounts
    assert any(status == "open" for *_, status in rows), "every business alert is held back"
    evidence = warehouse.execute(
        "select evidence, current_value, baseline_value from app.alerts where entity_id = %s"
        " and alert_type = 'ZERO_CONVERSIONS'",
        (by_kind["tracking_break"],),
    ).fetchone()
    assert evidence[0] and evidence[1] == 0 and evidence[2] > 0


def test_signal_health_flags_the_missing_day_and_nothing_else(
    first_run: dict, sandbox: SandboxServer, warehouse: psycopg.Connection
) -> None:
    world = sandbox.world
    days = [TODAY - timedelta(d) for d in range(1, HISTORY_DAYS + 1)]
    missing = {
        (platform, account.id, day)
        for platform in ROUTERS
        for account in world.accounts(platform)
        for day in days
        if world.is_missing_day(account, day)
    }
    assert missing
    rows = warehouse.execute(
        "select platform, account_id, date_day, status, completeness_score, issues"
        " from marts.fct_signal_health_daily"
    ).fetchall()
    by_key = {(platform, account_id, day): rest for platform, account_id, day, *rest in rows}
    n_accounts = sum(len(world.accounts(platform)) for platform in ROUTERS)
    assert len(by_key) == len(rows) == n_accounts * HISTORY_DAYS  # every account-day, gaps included
    for key in missing:
        status, completeness, issues = by_key[key]
        assert status == "degraded" and completeness < 80, key
        assert any("missing" in issue["check"] for issue in issues), issues
    unhealthy_elsewhere = {
        key: (status, issues)
        for key, (status, _, issues) in by_key.items()
        if key not in missing and status != "healthy"
    }
    assert unhealthy_elsewhere == {}


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
        world = sandbox.world
        truth = sum(
            m.conversions
            for platform in ROUTERS
            for account in world.accounts(platform)
            for ad in world.ads(platform, account.id)
            if (m := world.ad_day(ad, recent)) is not None
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
            " (select sum(spend) from marts.fct_ad_performance_daily where platform = 'meta')"
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


def test_faults_during_a_run_leave_the_same_data_as_a_clean_run(
    first_run: dict,
    pipeline: dg.Definitions,
    instance: dg.DagsterInstance,
    sandbox: SandboxServer,
    warehouse: psycopg.Connection,
) -> None:
    window = (TODAY - timedelta(6), TODAY - timedelta(1))
    assert run(pipeline, instance, *window).success
    clean = snapshot(warehouse)
    throttled_before = warehouse.execute(
        "select coalesce(sum(throttled), 0) from app.api_rate_limits where platform = 'meta'"
    ).fetchone()[0]

    faults = sandbox.faults
    faults.add("meta", "throttle", code=17, path="/insights")
    faults.add("meta", "server_error", status=500, path="/insights")
    faults.add("meta", "truncated_json", path="/insights")
    faults.add("meta", "malformed_json", path="/campaigns")
    faults.add("meta", "async_failed")
    faults.add("meta", "async_100_running", polls=2)
    try:
        result = run(pipeline, instance, *window)
    finally:
        leftover = len(faults.pending("meta"))
        faults.clear()
    assert result.success
    assert leftover == 0, "some faults were never hit: the test did not exercise them"
    assert snapshot(warehouse) == clean
    throttled_after = warehouse.execute(
        "select coalesce(sum(throttled), 0) from app.api_rate_limits where platform = 'meta'"
    ).fetchone()[0]
    assert throttled_after > throttled_before, "throttled responses were not booked in app.api_rate_limits"
