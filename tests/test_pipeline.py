"""End to end: sandbox APIs → connectors → raw → dbt → alerts, rules, allocation, recommendations and the
action queue, as real Dagster runs.

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
from psycopg import sql

from pipeline import config
from pipeline.analytics.alerting import AlertConfig
from pipeline.analytics.alerting.daily import evaluate_panel
from pipeline.analytics.alerting.frames import build_panel, prepare_budgets, prepare_health
from pipeline.config import DBT_PROJECT_DIR, DEFAULT_TENANT
from pipeline.connections import open_connector, sandbox_connection
from pipeline.dbt_manifest import prepare_manifest
from pipeline.defs.partitions import range_tags
from pipeline.sandbox.server import ROUTERS, SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.warehouse.marts_store import campaign_budgets_frame, campaign_daily_frame, signal_health_frame
from pipeline.warehouse.rules_store import import_rules_file

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
def offline_decisions() -> Iterator[None]:
    """The deterministic recommender and no notifications, whatever the developer's shell exports."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("ANTHROPIC_API_KEY", "ADSIGNAL_SLACK_WEBHOOK_URL", "ADSIGNAL_WEBHOOK_URL"):
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module", autouse=True)
def import_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Empty CSV and events import folders: the pipeline's import assets must not pick up the demo's files."""
    folder = tmp_path_factory.mktemp("imports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADSIGNAL_IMPORT_DIR", str(folder))
        patch.setenv("ADSIGNAL_EVENTS_DIR", str(tmp_path_factory.mktemp("events")))
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
        # The daily detector's history: every alert's mornings, status and times.
        "alert_history": "select string_agg(concat_ws(':', alert_id, alert_type, entity_id, status,"
        " detection_mornings::text, first_detected_at, last_detected_at, resolved_at), ',' order by alert_id)"
        " from app.alerts where detected_by = 'detector:daily'",
        "decisions": "select (select count(*) from app.budget_allocations),"
        " (select count(*) from app.budget_allocation_lines),"
        " (select count(*) from app.ai_recommendations where status = 'pending'),"
        " (select count(*) from app.actions_queue where status in ('proposed', 'blocked'))",
    }
    return {name: conn.execute(sql).fetchone() for name, sql in queries.items()}


@pytest.fixture(scope="module")
def first_run(pipeline: dg.Definitions, instance: dg.DagsterInstance, warehouse_url: str) -> dict[str, tuple]:
    from pipeline.examples import EXAMPLE_RULES

    with psycopg.connect(warehouse_url) as conn:
        import_rules_file(conn, EXAMPLE_RULES, tenant_id=DEFAULT_TENANT)
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


def test_analysts_read_money_in_its_currencys_decimals_and_ratios_to_four(
    first_run: dict, warehouse: psycopg.Connection
) -> None:
    rows = warehouse.execute(
        "select currency, scale(spend), scale(cpc), scale(cpa), scale(roas), scale(ctr), roas,"
        " conversion_value / nullif(spend, 0)"
        " from analyst.campaign_performance_last_7_days"
    ).fetchall()
    assert rows
    # The sandbox's accounts are in USD, EUR and GBP (two decimals); test_dbt_models checks the others.
    for currency, spend, cpc, cpa, roas, ctr, rounded_roas, roas_of_rounded in rows:
        money = 2
        assert spend == money and {cpc, cpa} <= {money, None}, currency
        assert {roas, ctr} <= {4, None}
        if rounded_roas is not None:  # rounded from the unrounded sums, not from rounded money
            assert abs(rounded_roas - roas_of_rounded) < 0.01


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
        " and alert_type not like 'DATA_%' and alert_type not like 'RULE_%'"  # rules' alerts: own test
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


def test_the_missing_day_raises_a_data_alert_not_a_business_alert(
    first_run: dict, sandbox: SandboxServer, warehouse: psycopg.Connection
) -> None:
    world = sandbox.world
    days = [TODAY - timedelta(d) for d in range(1, HISTORY_DAYS + 1)]
    missing = {
        (account.id, day)
        for account in world.accounts("meta")
        for day in days
        if world.is_missing_day(account, day)
    }
    ((account_id, day),) = missing
    data_alerts = warehouse.execute(
        "select alert_type, evidence::text, entity_name from app.alerts where platform = 'meta'"
        " and account_id = %s and alert_type like 'DATA_%%' and status in ('open', 'acknowledged')",
        (account_id,),
    ).fetchall()
    assert [kind for kind, *_ in data_alerts] == ["DATA_INCOMPLETE"]
    assert day.isoformat() in data_alerts[0][1], "the alert does not name the missing day"
    # named after the account, not its bare id
    assert data_alerts[0][2] == next(a.name for a in world.accounts("meta") if a.id == account_id)
    incidents = {i.campaign_id for i in world.incidents if i.campaign_id}
    business = warehouse.execute(
        "select count(*) from app.alerts a where platform = 'meta' and account_id = %s and status = 'open'"
        " and alert_type not like 'DATA_%%' and alert_type not like 'RULE_%%'"
        " and not (entity_level = 'campaign' and entity_id = any(%s))",
        (account_id, list(incidents)),
    ).fetchone()[0]
    assert business == 0, "the missing day raised a business alert"


def test_the_range_run_left_the_alerts_of_every_morning(
    first_run: dict, warehouse: psycopg.Connection
) -> None:
    """Each morning of the 30 days: the daily alerts stored as detected that morning are exactly
    those a run of the detector on that morning finds (on the marts as read, matured days not
    discounted); an alert resolved on a morning passed its check then."""
    first, last = TODAY - timedelta(HISTORY_DAYS), TODAY - timedelta(1)
    frame = campaign_daily_frame(warehouse, first, last)
    health = prepare_health(signal_health_frame(warehouse, first, last))
    budgets = prepare_budgets(campaign_budgets_frame(warehouse))
    stored = warehouse.execute(
        "select alert_type, entity_level, entity_id, detection_mornings,"
        " (resolution->>'as_of')::timestamptz at time zone 'UTC' from app.alerts"
        " where detected_by = 'detector:daily'"
    ).fetchall()
    assert any(len(mornings) > 1 for *_, mornings, _ in stored)
    config = AlertConfig()
    for offset in range(HISTORY_DAYS):
        as_of = first + timedelta(days=offset + 1)
        panel = build_panel(frame, as_of, config, reported_as_of=TODAY)
        detection = evaluate_panel(panel, config, health, budgets)
        detected = {(t, level, entity) for t, level, entity, mornings, _ in stored if as_of in mornings}
        assert {a.scope for a in detection.alerts} == detected, as_of
        resolved = {(t, level, entity) for t, level, entity, _, at in stored if at and at.date() == as_of}
        assert resolved <= {c.scope for c in detection.cleared}, as_of


def test_example_rules_find_the_incidents_they_were_written_for(
    first_run: dict, sandbox: SandboxServer, warehouse: psycopg.Connection
) -> None:
    by_kind = {
        i.kind: i.campaign_id for i in sandbox.world.incidents if i.platform == "meta" and i.campaign_id
    }
    matched = dict(
        warehouse.execute(
            """select r.name, array_agg(distinct m->>'campaign_id') from app.rules r
               join app.rule_runs rr using (rule_id), jsonb_array_elements(rr.matches) m
               where rr.status = 'succeeded' group by r.name"""
        ).fetchall()
    )
    assert by_kind["tracking_break"] in matched["zero-conversions-while-spending"]
    assert by_kind["cvr_drop"] in matched["roas-collapse"]
    assert by_kind["cpc_spike"] in matched["cpc-spike-cut-budget"]
    failed = warehouse.execute("select count(*) from app.rule_runs where status <> 'succeeded'").fetchone()[0]
    assert failed == 0


def test_decisions_end_with_an_allocation_recommendations_and_proposed_actions(
    first_run: dict, warehouse: psycopg.Connection
) -> None:
    total, per_platform, lines = warehouse.execute(
        """select a.total_budget, a.allocations, (select count(*) from app.budget_allocation_lines l
                                                  where l.allocation_id = a.allocation_id)
           from app.budget_allocations a order by allocation_id desc limit 1"""
    ).fetchone()
    assert total > 0 and lines > 0
    assert set(per_platform) <= set(ROUTERS) | {"csv"}
    assert abs(sum(float(v) for v in per_platform.values()) - float(total)) <= max(1.0, 0.01 * float(total))
    produced_by = warehouse.execute(
        "select distinct produced_by, fallback_reason is not null from app.ai_recommendations"
    ).fetchall()
    assert produced_by == [("fallback", True)], (
        "without a key the deterministic recommender answers, saying so"
    )
    proposed = warehouse.execute(
        "select source, count(*) from app.actions_queue where status = 'proposed' group by source"
    ).fetchall()
    assert proposed, "nothing awaits approval"
    unhealthy_targets = warehouse.execute(
        """select count(*) from app.actions_queue q
           join marts.fct_signal_health_daily h using (platform, account_id)
           where q.status = 'proposed' and h.status <> 'healthy' and h.date_day >= %s""",
        (TODAY - timedelta(3),),
    ).fetchone()[0]
    assert unhealthy_targets == 0, "an action was proposed on data that is not healthy"


def test_successful_dbt_steps_leave_no_target_dir_behind(
    first_run: dict, instance: dg.DagsterInstance
) -> None:
    """dagster-dbt makes a target dir per invocation (``<step>-<run id[:7]>-<hash>``); ours are removed."""
    run_ids = [run.run_id[:7] for run in instance.get_runs()]
    assert run_ids
    target = DBT_PROJECT_DIR / "target"
    left = [path.name for path in target.iterdir() if any(f"-{run_id}-" in path.name for run_id in run_ids)]
    assert left == []


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


def meta_raw(conn: psycopg.Connection, keys: list[dg.AssetKey]) -> dict[str, tuple]:
    """Rows and a digest of their payloads, per Meta raw table."""
    return {
        key.path[-1]: conn.execute(
            sql.SQL(
                "select count(*), md5(string_agg(md5(payload::text), ',' order by md5(payload::text))) from {}"
            ).format(sql.Identifier(*key.path))
        ).fetchone()
        for key in keys
    }


def test_faults_during_a_run_leave_the_same_data_as_a_clean_run(
    first_run: dict,
    pipeline: dg.Definitions,
    instance: dg.DagsterInstance,
    sandbox: SandboxServer,
    warehouse: psycopg.Connection,
) -> None:
    """Throttling, server errors, broken JSON and failed async reports inside a Dagster run: Meta's
    sync retries through them and lands the rows a clean sync lands. Only Meta's raw assets run: the
    marts follow from raw (test_running_again_changes_nothing), and each platform's combined faults
    through the marts are test_fault_matrix_marts'."""
    window = (TODAY - timedelta(6), TODAY - timedelta(1))
    job = pipeline.resolve_job_def("daily_pipeline")
    keys = sorted(
        (
            key
            for key in job.asset_layer.executable_asset_keys
            if key.path[:1] == ["raw"] and key.path[1].startswith("meta_")
        ),
        key=lambda key: key.path,
    )
    assert keys

    def sync_meta() -> dg.ExecuteInProcessResult:
        return job.execute_in_process(
            instance=instance, tags=range_tags(*window), raise_on_error=False, asset_selection=keys
        )

    assert sync_meta().success
    clean = meta_raw(warehouse, keys)
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
        result = sync_meta()
    finally:
        leftover = len(faults.pending("meta"))
        faults.clear()
    assert result.success
    assert leftover == 0, "some faults were never hit: the test did not exercise them"
    assert meta_raw(warehouse, keys) == clean
    throttled_after = warehouse.execute(
        "select coalesce(sum(throttled), 0) from app.api_rate_limits where platform = 'meta'"
    ).fetchone()[0]
    assert throttled_after > throttled_before, "throttled responses were not booked in app.api_rate_limits"


def test_approving_an_action_changes_the_campaign_on_the_platform(
    first_run: dict, sandbox: SandboxServer, warehouse_url: str, warehouse: psycopg.Connection
) -> None:
    from pipeline.execution import approve_and_execute_first

    result = approve_and_execute_first(warehouse_url, actor="e2e", apply=True, sandbox_url=sandbox.url)
    assert result is not None and result.outcome == "executed", result
    platform, account_id, campaign_id, dry_run, status, new_state = warehouse.execute(
        "select platform, account_id, campaign_id, dry_run, status, new_state from app.ai_actions_log"
        " where action_id = %s order by log_id desc limit 1",
        (result.action_id,),
    ).fetchone()
    assert (dry_run, status) == (False, "succeeded")
    connector = open_connector(sandbox_connection(platform, sandbox.url))
    try:
        live = connector.campaign_state(campaign_id, account_id=account_id)
    finally:
        connector.close()
    assert live["status"] == new_state["status"]
    assert live["daily_budget"] == pytest.approx(new_state["daily_budget"])
    assert result.previous_state != result.new_state
    audit = warehouse.execute(
        "select array_agg(event order by audit_id) from app.audit_logs where object_id = %s",
        (str(result.action_id),),
    ).fetchone()[0]
    assert audit and any("approve" in event for event in audit) and any("execut" in event for event in audit)
