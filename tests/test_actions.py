"""The action queue end to end: proposals through the guardrails, approval, execution on the sandbox's
fake platform APIs over HTTP, the logs, the CLI and the Dagster job.

A private PostgreSQL database gets the three marts the guardrails read (just the columns they use),
seeded per campaign from the sandbox's world, so each test states the data it acts on.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from pipeline.analytics.actions import ActionProposal
from pipeline.analytics.guardrails import GuardrailSettings
from pipeline.commands.actions import actions as actions_cli
from pipeline.connections import open_connector, sandbox_connection
from pipeline.defs.actions import execute_action_job
from pipeline.defs.resources import PlatformsResource, WarehouseResource
from pipeline.execution import approve_and_execute_first, execute_action
from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.simulator import Campaign, World, default_scenario
from pipeline.warehouse import actions_store as store
from pipeline.warehouse.audit import audit_trail

TODAY = date(2026, 11, 15)
PLATFORMS = ("meta", "google_ads", "tiktok", "snapchat", "microsoft_ads")

MARTS = """
create schema if not exists marts;
create table marts.dim_campaigns (
    platform text, account_id text, campaign_id text, campaign_name text, status text, daily_budget numeric,
    budget_type text, is_inferred boolean not null default false, tenant_id text not null default 'default');
create table marts.fct_campaign_performance_daily (
    date_day date, platform text, account_id text, campaign_id text, spend numeric, tenant_id text not null default 'default');
create table marts.fct_signal_health_daily (
    date_day date, platform text, account_id text, status text, health_score numeric, tenant_id text not null default 'default');
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(World(default_scenario(today=TODAY))) as server:
        yield server


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("actions")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MARTS)
    return url


@pytest.fixture
def conn(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@pytest.fixture(autouse=True)
def _clear_faults(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.faults.clear()
    yield
    sandbox.faults.clear()


_taken: set[tuple[str, str]] = set()


def fresh_campaign(world: World, platform: str | None = None, status: str = "ACTIVE") -> Campaign:
    """A campaign no other test has touched (daily budget, in ``status``), of ``platform`` or the least used one."""
    order = [platform] if platform else sorted(PLATFORMS, key=lambda p: sum(1 for t in _taken if t[0] == p))
    for candidate in order:
        for campaign in world.campaigns(candidate):
            key = (candidate, campaign.id)
            if key in _taken or campaign.lifetime_budget is not None or campaign.status != status:
                continue
            _taken.add(key)
            return campaign
    raise LookupError(f"no untouched {status} {platform or ''} campaign left in the sandbox world")


def seed(
    conn: psycopg.Connection,
    world: World,
    campaign: Campaign,
    *,
    spend_days: int = 28,
    health: str = "healthy",
) -> None:
    """The marts' view of ``campaign``: its current status and budget, spend days, account health."""
    key = (campaign.platform, campaign.account_id, campaign.id)
    conn.execute(
        "delete from marts.dim_campaigns where platform = %s and account_id = %s and campaign_id = %s", key
    )
    conn.execute(
        "delete from marts.fct_campaign_performance_daily where platform = %s and account_id = %s"
        " and campaign_id = %s",
        key,
    )
    conn.execute(
        "insert into marts.dim_campaigns (platform, account_id, campaign_id, campaign_name, status, daily_budget,"
        " budget_type) values (%s, %s, %s, %s, %s, %s, 'DAILY')",
        (*key, campaign.name, world.campaign_status(campaign), world.campaign_daily_budget(campaign)),
    )
    for offset in range(28):
        spend = 100.0 if offset < spend_days else 0.0
        conn.execute(
            "insert into marts.fct_campaign_performance_daily values (%s, %s, %s, %s, %s)",
            (TODAY - timedelta(days=1 + offset), *key, spend),
        )
    conn.execute("delete from marts.fct_signal_health_daily where platform = %s and account_id = %s", key[:2])
    for offset in range(5):
        conn.execute(
            "insert into marts.fct_signal_health_daily values (%s, %s, %s, %s, %s)",
            (TODAY - timedelta(days=1 + offset), *key[:2], health, 95.0 if health == "healthy" else 40.0),
        )


_refs = itertools.count(1)
_blocked_case_campaign: dict[str, Campaign] = {}


def proposal(
    campaign: Campaign, action_type: str = "BUDGET_CHANGE", budget: float | None = None, **kw: Any
) -> ActionProposal:
    if action_type in ("BUDGET_CHANGE", "REALLOCATE") and budget is None:
        budget = round(campaign.daily_budget * 1.2, 2)
    values: dict[str, Any] = {
        "action_type": action_type,
        "source": "rule",
        "source_ref": f"rule:{next(_refs)}",
        "platform": campaign.platform,
        "account_id": campaign.account_id,
        "campaign_id": campaign.id,
        "reason": "test",
        "new_daily_budget": budget,
        "campaign_name": campaign.name,
        "evidence": {"roas": 3.2},
    }
    values.update(kw)
    return ActionProposal(**values)


def propose_one(conn: psycopg.Connection, p: ActionProposal, **kw: Any) -> dict[str, Any]:
    (action_id,) = store.propose_actions(conn, [p], tenant_id="default", run_id="test-run", **kw)
    action = store.get_action(conn, action_id)
    assert action is not None
    return action


def platform_state(sandbox: SandboxServer, campaign: Campaign) -> dict[str, Any]:
    """The campaign as the fake platform API reports it over HTTP."""
    connector = open_connector(sandbox_connection(campaign.platform, sandbox.url))
    try:
        return connector.campaign_state(campaign.id, account_id=campaign.account_id)
    finally:
        connector.close()


def check(action: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in action["guardrails"] if c["name"] == name)


# --- proposing -------------------------------------------------------------------------------------------


def test_proposal_is_queued_with_its_guardrails_and_a_large_change_is_clamped(
    conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    world = sandbox.world
    small, large = fresh_campaign(world, "meta"), fresh_campaign(world, "meta")
    seed(conn, world, small)
    seed(conn, world, large)
    action = propose_one(conn, proposal(small, budget=small.daily_budget * 1.2))
    assert action["status"] == "proposed"
    assert all(c["outcome"] == "passed" and c["stage"] == "propose" for c in action["guardrails"])
    assert action["signal_health"]["status"] == "healthy"

    doubled = propose_one(conn, proposal(large, budget=large.daily_budget * 2))
    assert doubled["status"] == "proposed"
    assert doubled["params"] == {
        "new_daily_budget": round(large.daily_budget * 1.3, 2),
        "requested_daily_budget": round(large.daily_budget * 2, 2),
    }
    assert check(doubled, "max_change_per_action")["outcome"] == "clamped"
    events = [row["event"] for row in audit_trail(conn, "action", doubled["action_id"])]
    assert events == ["action.proposed"]


def test_reproposing_the_same_change_refreshes_one_row(
    conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "google_ads")
    seed(conn, sandbox.world, campaign)
    p = proposal(campaign)
    first = store.propose_actions(conn, [p], tenant_id="default", run_id="a")
    again = store.propose_actions(conn, [p], tenant_id="default", run_id="b")
    assert first == again
    count = conn.execute(
        "select count(*) from app.actions_queue where idempotency_key = %s", (p.idempotency_key,)
    ).fetchone()
    assert count == (1,)


def test_a_newer_proposal_from_the_same_source_supersedes_the_unanswered_one(
    conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world)
    seed(conn, sandbox.world, campaign)
    yesterday = propose_one(
        conn, proposal(campaign, "REALLOCATE", source="allocation", source_ref="allocation:1")
    )
    today = propose_one(
        conn,
        proposal(
            campaign,
            "REALLOCATE",
            campaign.daily_budget * 1.1,
            source="allocation",
            source_ref="allocation:2",
        ),
    )
    rule = propose_one(conn, proposal(campaign, "PAUSE"))  # another source: both stay for a person to weigh
    statuses = {
        a["action_id"]: a["status"] for a in store.list_actions(conn) if a["campaign_id"] == campaign.id
    }
    assert statuses == {
        yesterday["action_id"]: "superseded",
        today["action_id"]: "proposed",
        rule["action_id"]: "proposed",
    }


@pytest.mark.parametrize(
    ("setup", "proposal_kw", "settings", "rule"),
    [
        ({"health": "unhealthy"}, {}, None, "signal_health"),
        ({"health": "degraded"}, {}, None, "signal_health"),
        ({"spend_days": 3}, {}, None, "minimum_data"),
        ({}, {"budget_factor": 2.0}, GuardrailSettings(clamp_budget_changes=False), "max_change_per_action"),
        ({}, {"budget_factor": 0.01}, None, "budget_floor"),
    ],
    ids=["unhealthy", "degraded", "too-little-data", "too-large-change", "below-floor"],
)
def test_proposal_breaking_a_hard_rule_is_queued_blocked_with_the_reason(
    conn: psycopg.Connection,
    sandbox: SandboxServer,
    setup: dict[str, Any],
    proposal_kw: dict[str, Any],
    settings: GuardrailSettings | None,
    rule: str,
) -> None:
    # One campaign serves every case: nothing here reaches the platform, and seed() restates its data.
    if "campaign" not in _blocked_case_campaign:
        _blocked_case_campaign["campaign"] = fresh_campaign(sandbox.world)
    campaign = _blocked_case_campaign["campaign"]
    seed(conn, sandbox.world, campaign, **setup)
    budget = round(campaign.daily_budget * proposal_kw.get("budget_factor", 1.2), 2)
    action = propose_one(conn, proposal(campaign, budget=budget), settings=settings)
    assert action["status"] == "blocked"
    assert check(action, rule)["outcome"] == "blocked"
    assert rule in action["last_error"]
    with pytest.raises(store.ActionStateError, match="blocked"):
        store.decide(conn, action["action_id"], "approve", actor="alice")


def test_without_marts_every_proposal_is_blocked(database_factory: Callable[[str], str]) -> None:
    url = database_factory("actions_no_marts")
    with psycopg.connect(url, autocommit=True) as conn:
        p = ActionProposal("PAUSE", "rule", "rule:1", "meta", "1", "2", "test")
        action = propose_one(conn, p)
    assert action["status"] == "blocked"
    assert {c["name"] for c in action["guardrails"] if c["outcome"] == "blocked"} >= {
        "campaign_known",
        "minimum_data",
        "signal_health",
    }


# --- approving and executing -----------------------------------------------------------------------------


def test_dry_run_records_what_it_would_set_and_changes_nothing(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "meta")
    seed(conn, sandbox.world, campaign)
    before = platform_state(sandbox, campaign)
    action = propose_one(conn, proposal(campaign))
    store.decide(conn, action["action_id"], "approve", actor="alice", note="looks right")

    result = execute_action(url, action["action_id"], actor="alice", sandbox_url=sandbox.url)
    assert result.outcome == "dry_run" and result.dry_run
    assert platform_state(sandbox, campaign) == before
    target = round(campaign.daily_budget * 1.2, 2)
    assert result.request is not None and result.request["daily_budget"] == round(target * 100)  # Meta: cents
    (log,) = store.action_log(conn, action["action_id"])
    assert log["dry_run"] is True and log["status"] == "succeeded"
    assert log["previous_state"]["daily_budget"] == before["daily_budget"]
    assert log["new_state"]["daily_budget"] == target
    after = store.get_action(conn, action["action_id"])
    assert after is not None and after["status"] == "approved" and after["attempts"] == 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_apply_changes_the_campaign_on_the_platform_and_logs_both_states(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer, platform: str
) -> None:
    campaign = fresh_campaign(sandbox.world, platform)
    seed(conn, sandbox.world, campaign)
    before = platform_state(sandbox, campaign)
    target = round(before["daily_budget"] * 1.2, 2)
    action = propose_one(conn, proposal(campaign, budget=target))
    store.decide(conn, action["action_id"], "approve", actor="alice")

    result = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert result.outcome == "executed", result.error
    assert platform_state(sandbox, campaign)["daily_budget"] == target  # read back through the fake API
    assert sandbox.world.campaign_daily_budget(sandbox.world.campaign(platform, campaign.id)) == target

    done = store.get_action(conn, action["action_id"])
    assert done is not None and done["status"] == "executed" and done["dry_run"] is False
    assert done["previous_state"]["daily_budget"] == before["daily_budget"]
    assert done["new_state"]["daily_budget"] == target
    (log,) = store.action_log(conn, action["action_id"])
    assert (log["dry_run"], log["status"], log["attempt"]) == (False, "succeeded", 1)
    assert (
        log["previous_state"]["daily_budget"] == before["daily_budget"]
        and log["new_state"]["daily_budget"] == target
    )
    events = [row["event"] for row in audit_trail(conn, "action", action["action_id"])]
    assert events == ["action.proposed", "action.approved", "action.executing", "action.executed"]

    # Never twice: executing again is refused and writes nothing.
    with pytest.raises(store.ActionStateError, match="already executed"):
        execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert len(store.action_log(conn, action["action_id"])) == 1


def test_pause_then_a_new_proposal_for_the_campaign_is_in_cooldown(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "microsoft_ads")
    seed(conn, sandbox.world, campaign)
    action = propose_one(conn, proposal(campaign, "PAUSE"))
    store.decide(conn, action["action_id"], "approve", actor="alice")
    result = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert result.outcome == "executed", result.error
    assert platform_state(sandbox, campaign)["status"] == "PAUSED"

    seed(conn, sandbox.world, campaign)  # the marts now show it paused
    resume = propose_one(conn, proposal(campaign, "RESUME"))
    assert resume["status"] == "blocked"
    assert check(resume, "cooldown")["outcome"] == "blocked"
    assert f"#{action['action_id']}" in check(resume, "cooldown")["detail"]


def test_an_action_already_being_executed_is_not_started_again(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "google_ads")
    seed(conn, sandbox.world, campaign)
    action = propose_one(conn, proposal(campaign))
    store.decide(conn, action["action_id"], "approve", actor="alice")
    store.claim_for_execution(conn, action["action_id"], actor="other-worker")  # someone else is on it
    before = platform_state(sandbox, campaign)
    with pytest.raises(store.ActionStateError, match="being executed"):
        execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert platform_state(sandbox, campaign) == before


def test_a_crashed_execution_marker_goes_stale_and_the_retry_applies_once(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world)
    seed(conn, sandbox.world, campaign)
    action = propose_one(conn, proposal(campaign, "PAUSE"))
    store.decide(conn, action["action_id"], "approve", actor="alice")
    store.claim_for_execution(conn, action["action_id"], actor="crashed-worker")
    conn.execute(
        "update app.actions_queue set executing_since = now() - interval '1 hour' where action_id = %s",
        (action["action_id"],),
    )
    result = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert result.outcome == "executed", result.error
    row = store.get_action(conn, action["action_id"])
    assert row is not None and (row["status"], row["attempts"]) == ("executed", 2)


def test_two_executors_racing_for_one_action_apply_it_once(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world)
    seed(conn, sandbox.world, campaign)
    action = propose_one(conn, proposal(campaign))
    store.decide(conn, action["action_id"], "approve", actor="alice")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def executor(name: str) -> None:
        start.wait()
        try:
            result = execute_action(url, action["action_id"], apply=True, actor=name, sandbox_url=sandbox.url)
            outcomes.append(result.outcome)
        except store.ActionStateError:
            outcomes.append("refused")

    threads = [threading.Thread(target=executor, args=(f"worker-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["executed", "refused"]
    writes = [log for log in store.action_log(conn, action["action_id"]) if not log["dry_run"]]
    assert len(writes) == 1


def test_guardrails_run_again_at_execution_on_the_platforms_current_state(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "google_ads")
    seed(conn, sandbox.world, campaign)
    action = propose_one(conn, proposal(campaign, "PAUSE"))
    store.decide(conn, action["action_id"], "approve", actor="alice")
    sandbox.world.set_campaign_status("google_ads", campaign.id, "PAUSED")  # paused by hand meanwhile

    result = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert result.outcome == "blocked"
    done = store.get_action(conn, action["action_id"])
    assert done is not None and done["status"] == "blocked"
    assert any(
        c["name"] == "status_transition" and c["stage"] == "execute" and c["outcome"] == "blocked"
        for c in done["guardrails"]
    )
    (log,) = store.action_log(conn, action["action_id"])
    assert log["status"] == "blocked" and "status_transition" in log["error"]


def write_path(campaign: Campaign) -> str:
    return f"/adaccounts/{campaign.account_id}/campaigns"  # Snapchat's campaign update (PUT)


def test_a_failed_write_is_recorded_and_a_retry_applies_it_once(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "snapchat")
    seed(conn, sandbox.world, campaign)
    before = platform_state(sandbox, campaign)
    target = round(before["daily_budget"] * 1.2, 2)
    action = propose_one(conn, proposal(campaign, budget=target))
    store.decide(conn, action["action_id"], "approve", actor="alice")

    sandbox.faults.add("snapchat", "server_error", path=write_path(campaign), times=-1)
    failed = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert failed.outcome == "failed" and "write failed" in (failed.error or "")
    row = store.get_action(conn, action["action_id"])
    assert row is not None and (row["status"], row["attempts"]) == ("failed", 1) and row["last_error"]
    assert platform_state(sandbox, campaign)["daily_budget"] == before["daily_budget"]

    sandbox.faults.clear()
    retried = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert retried.outcome == "executed", retried.error
    assert platform_state(sandbox, campaign)["daily_budget"] == target
    logs = store.action_log(conn, action["action_id"])
    assert [(log["status"], log["attempt"]) for log in logs] == [("failed", 1), ("succeeded", 2)]
    row = store.get_action(conn, action["action_id"])
    assert row is not None and (row["status"], row["attempts"], row["last_error"]) == ("executed", 2, None)


def test_a_write_that_landed_but_whose_answer_was_lost_is_not_sent_again(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "snapchat")
    seed(conn, sandbox.world, campaign)
    before = platform_state(sandbox, campaign)
    target = round(before["daily_budget"] * 1.25, 2)
    action = propose_one(conn, proposal(campaign, budget=target))
    store.decide(conn, action["action_id"], "approve", actor="alice")

    # The platform applies the update, but every answer arrives garbled: the client sees a failure.
    sandbox.faults.add("snapchat", "malformed_json", path=write_path(campaign), times=-1)
    failed = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert failed.outcome == "failed"
    assert platform_state(sandbox, campaign)["daily_budget"] == target  # it did land

    # Any further write would now fail: the retry must see the change and not write again.
    sandbox.faults.clear()
    guard = sandbox.faults.add("snapchat", "server_error", path=write_path(campaign), times=-1)
    retried = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert retried.outcome == "already_applied"
    assert guard.hits == 0
    row = store.get_action(conn, action["action_id"])
    assert row is not None and row["status"] == "executed"
    assert row["previous_state"]["daily_budget"] == before["daily_budget"]
    assert row["new_state"]["daily_budget"] == target
    last = store.action_log(conn, action["action_id"])[-1]
    assert last["response"]["already_applied"] is True


def test_recommendation_follows_its_action(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    def recommendation(target: Campaign) -> int:
        # Fill the recommendation's required columns, whatever migration 0007 currently requires.
        known: dict[str, Any] = {
            "produced_by": "fallback",
            "platform": "tiktok",
            "entity_level": "campaign",
            "action": "PAUSE",
            "confidence": 0.8,
            "entity_id": target.id,
        }
        by_type: dict[str, Any] = {
            "date": TODAY,
            "jsonb": Jsonb({}),
            "boolean": False,
            "integer": 1,
            "bigint": 1,
        }
        required = conn.execute(
            """select column_name, data_type from information_schema.columns
               where table_schema = 'app' and table_name = 'ai_recommendations' and is_nullable = 'NO'
                 and column_default is null"""
        ).fetchall()
        values = {name: known.get(name, by_type.get(kind, "x")) for name, kind in required}
        values.update(account_id=target.account_id, campaign_id=target.id)
        row = conn.execute(
            f"insert into app.ai_recommendations ({', '.join(values)}) values ({', '.join(['%s'] * len(values))})"
            " returning recommendation_id",
            list(values.values()),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def status(rec_id: int) -> tuple[str, str | None]:
        row = conn.execute(
            "select status, status_changed_by from app.ai_recommendations where recommendation_id = %s",
            (rec_id,),
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    campaign, other = fresh_campaign(sandbox.world, "tiktok"), fresh_campaign(sandbox.world, "tiktok")
    accepted_rec, rejected_rec = recommendation(campaign), recommendation(other)
    seed(conn, sandbox.world, campaign)
    seed(conn, sandbox.world, other)
    kept = propose_one(
        conn,
        proposal(campaign, "PAUSE", source="recommendation", source_ref=f"recommendation:{accepted_rec}"),
    )
    dropped = propose_one(
        conn, proposal(other, "PAUSE", source="recommendation", source_ref=f"recommendation:{rejected_rec}")
    )

    store.decide(conn, kept["action_id"], "approve", actor="alice")
    assert status(accepted_rec) == ("accepted", "alice")
    store.decide(conn, dropped["action_id"], "reject", actor="bob", note="seasonal dip")
    assert status(rejected_rec) == ("rejected", "bob")
    result = execute_action(url, kept["action_id"], apply=True, actor="carol", sandbox_url=sandbox.url)
    assert result.outcome == "executed", result.error
    assert status(accepted_rec) == ("executed", "carol")
    (log,) = store.action_log(conn, kept["action_id"])
    assert log["recommendation_id"] == accepted_rec


# --- CLI and Dagster ---------------------------------------------------------------------------------------


def test_cli_lists_shows_approves_and_executes(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign, other, blocked = (
        fresh_campaign(sandbox.world, p) for p in ("meta", "microsoft_ads", "snapchat")
    )
    for c in (campaign, other):
        seed(conn, sandbox.world, c)
    seed(conn, sandbox.world, blocked, health="unhealthy")
    before = platform_state(sandbox, campaign)
    target = round(before["daily_budget"] * 0.8, 2)
    action_id = propose_one(conn, proposal(campaign, budget=target))["action_id"]
    other_id = propose_one(conn, proposal(other, "PAUSE"))["action_id"]
    blocked_id = propose_one(conn, proposal(blocked, "PAUSE"))["action_id"]

    runner = CliRunner()
    env = {"DATABASE_URL": url, "ADSIGNAL_SANDBOX_URL": sandbox.url, "ADSIGNAL_ACTIONS_APPLY": ""}

    def run(*args: str) -> Any:
        return runner.invoke(actions_cli, list(args), env=env, catch_exceptions=False)

    listed = run("list", "--status", "proposed")
    assert listed.exit_code == 0 and str(action_id) in listed.output and "pause" in listed.output
    blocked_list = run("list", "--status", "blocked")
    assert str(blocked_id) in blocked_list.output and "signal_health" in blocked_list.output

    refused = run("approve", str(blocked_id), "--by", "alice")
    assert refused.exit_code == 1 and "blocked" in refused.output

    approved = run("approve", str(action_id), "--by", "alice", "--note", "cut the spend")
    assert approved.exit_code == 0 and "approved by alice" in approved.output
    dry = run("execute", str(action_id), "--by", "alice")
    assert dry.exit_code == 0 and "DRY RUN" in dry.output
    assert platform_state(sandbox, campaign)["daily_budget"] == before["daily_budget"]
    applied = run("execute", str(action_id), "--apply", "--by", "alice")
    assert applied.exit_code == 0 and "EXECUTED" in applied.output
    assert platform_state(sandbox, campaign)["daily_budget"] == target

    shown = run("show", str(action_id))
    assert shown.exit_code == 0
    for text in ("executed", "guardrails", "app.ai_actions_log", "action.executed", "alice"):
        assert text in shown.output

    rejected = run("reject", str(other_id), "--by", "bob", "--note", "not now")
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    again = run("execute", str(other_id), "--apply")
    assert again.exit_code == 1 and "rejected" in again.output
    assert platform_state(sandbox, other)["status"] == "ACTIVE"


def test_dagster_job_executes_an_action_by_id(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "tiktok", status="PAUSED")
    seed(conn, sandbox.world, campaign)
    action_id = propose_one(conn, proposal(campaign, "RESUME"))["action_id"]
    store.decide(conn, action_id, "approve", actor="alice")
    resources = {
        "warehouse": WarehouseResource(url=url),
        "platforms": PlatformsResource(sandbox_url=sandbox.url),
    }

    def run(apply: bool) -> Any:
        config = {"ops": {"execute_approved_action": {"config": {"action_id": action_id, "apply": apply}}}}
        return execute_action_job.execute_in_process(
            run_config=config, resources=resources, raise_on_error=False
        )

    dry = run(False)
    assert dry.success and dry.output_for_node("execute_approved_action") == "dry_run"
    assert platform_state(sandbox, campaign)["status"] == "PAUSED"
    applied = run(True)
    assert applied.success and applied.output_for_node("execute_approved_action") == "executed"
    assert platform_state(sandbox, campaign)["status"] == "ACTIVE"
    assert not run(True).success  # never twice
    log = store.action_log(conn, action_id)
    assert [row["dry_run"] for row in log] == [True, False]
    assert log[-1]["executed_by"].startswith("dagster (run ")


def test_demo_helper_approves_and_applies_the_oldest_proposal(
    database_factory: Callable[[str], str], sandbox: SandboxServer
) -> None:
    url = database_factory("actions_demo")
    campaign = fresh_campaign(sandbox.world)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MARTS)
        assert approve_and_execute_first(url, sandbox_url=sandbox.url) is None  # nothing waits
        seed(conn, sandbox.world, campaign)
        action_id = propose_one(conn, proposal(campaign, "PAUSE"))["action_id"]
        result = approve_and_execute_first(url, sandbox_url=sandbox.url)
        assert result is not None and (result.action_id, result.outcome) == (action_id, "executed")
        assert platform_state(sandbox, campaign)["status"] == "PAUSED"
        assert store.proposed_actions(conn) == []


def test_a_retry_after_a_landed_write_of_another_amount_does_not_write_again(
    url: str, conn: psycopg.Connection, sandbox: SandboxServer
) -> None:
    campaign = fresh_campaign(sandbox.world, "google_ads")
    seed(conn, sandbox.world, campaign)
    before = platform_state(sandbox, campaign)
    target = round(before["daily_budget"] * 1.25, 2)
    action = propose_one(conn, proposal(campaign, budget=target))
    store.decide(conn, action["action_id"], "approve", actor="alice")
    budgets = "campaignBudgets:mutate"
    sandbox.faults.add("google_ads", "server_error", path=budgets, times=-1)
    first = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert first.outcome == "failed"
    sandbox.faults.clear()
    # The platform moved after that attempt read it (say its write landed with an amount the guardrails
    # clamped at execution, its answer lost): a retry must not stack a second change on top.
    landed = round(before["daily_budget"] * 1.1, 2)
    connector = open_connector(sandbox_connection("google_ads", sandbox.url))
    try:
        connector.update_campaign(campaign.id, daily_budget=landed, account_id=campaign.account_id)
    finally:
        connector.close()
    guard = sandbox.faults.add("google_ads", "server_error", path=budgets, times=-1)
    retried = execute_action(url, action["action_id"], apply=True, actor="alice", sandbox_url=sandbox.url)
    assert retried.outcome == "already_applied"
    assert guard.hits == 0
    assert platform_state(sandbox, campaign)["daily_budget"] == landed
