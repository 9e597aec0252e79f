"""A budget experiment through the action queue: proposed, approved, stepped day by day on the sandbox's
fake platform API over HTTP, returned to its baseline, refitted; every status change audited.

Time is pinned: each step runs with a pinned ``now``, and each executed step's ``executed_at`` is set to
that pinned moment (as if the days had passed), so cooldowns see the days between the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from pipeline.analytics.budget.experiment_plan import PlannedExperiment
from pipeline.analytics.budget.experiments import ExperimentAssessment, abba_schedule, experiment_budgets
from pipeline.execution import execute_action
from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.warehouse import actions_store as store
from pipeline.warehouse import experiments_store as experiments
from pipeline.warehouse.audit import audit_trail
from tests.test_actions import MARTS, TODAY, seed


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(World(default_scenario(today=TODAY))) as server:
        yield server


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("experiments")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MARTS)
    return url


def at(day: date, hour: int = 6) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_experiment_is_queued_approved_stepped_completed_and_refitted(
    url: str, sandbox: SandboxServer
) -> None:
    world = sandbox.world
    campaign = next(
        c for c in world.campaigns("google_ads") if c.lifetime_budget is None and c.status == "ACTIVE"
    )
    key = (campaign.platform, campaign.account_id, campaign.id)
    current = world.campaign_daily_budget(campaign)
    schedule = abba_schedule(14, 0.15, 1)
    budgets = experiment_budgets(current, current, schedule)
    assessment = ExperimentAssessment(
        key=key, campaign_name=campaign.name, propose=True, reason="curvature unidentified (test)",
        elasticity_mean=0.55, elasticity_sd=0.09, elasticity_sd_after=0.06, value_of_information=120.0,
        cost=15.0, baseline_daily=current, current_daily=current, sign=1, schedule=schedule,
    )  # fmt: skip
    planned = PlannedExperiment(assessment, "USD", current, current, budgets, TODAY, 0.15)

    with psycopg.connect(url, autocommit=True) as conn:
        seed(conn, world, campaign)
        ids = experiments.save_experiments(conn, None, [planned], now=at(TODAY), run_id="test")
        ((experiment_id, first_id),) = ids.items()
        # Proposing again while it is live adds nothing.
        assert experiments.save_experiments(conn, None, [planned], now=at(TODAY)) == {}
        first = store.get_action(conn, first_id)
        assert first is not None
        assert (first["action_type"], first["source"], first["status"]) == (
            "BUDGET_EXPERIMENT",
            "experiment",
            "proposed",
        )
        assert first["params"]["new_daily_budget"] == budgets[0]
        assert {c["name"] for c in first["guardrails"]} >= {
            "max_change_per_action",
            "cooldown",
            "signal_health",
        }
        assert experiments.held_experiment_keys(conn) == set()  # proposed: the next allocation decides again
        assert experiments.step_experiments(conn, TODAY, now=at(TODAY)) == {"waiting": [experiment_id]}

        def execute(action_id: int, moment: datetime) -> None:
            result = execute_action(
                url, action_id, apply=True, actor="alice", sandbox_url=sandbox.url, now=moment
            )
            assert result.outcome == "executed", result.error
            conn.execute(
                "update app.actions_queue set executed_at = %s where action_id = %s", (moment, action_id)
            )
            # The next daily build's view of the campaign (the guardrails read the marts at proposal time).
            conn.execute(
                "update marts.dim_campaigns set daily_budget = %s where platform = %s and campaign_id = %s",
                (world.campaign_daily_budget(world.campaign(*key[::2])), key[0], key[2]),
            )

        # A person approves the first step: that approves the experiment.
        store.decide(conn, first_id, "approve", actor="alice", note="run it")
        execute(first_id, at(TODAY, 12))
        assert world.campaign_daily_budget(world.campaign(*key[::2])) == budgets[0]
        assert experiments.step_experiments(conn, TODAY, now=at(TODAY, 13)) == {"holding": [experiment_id]}
        assert experiments.held_experiment_keys(conn) == {key}  # running: the allocation leaves it alone
        # A later allocation that no longer chooses it does not cancel an approved, running experiment.
        assert experiments.save_experiments(conn, None, [], now=at(TODAY, 14)) == {}
        assert experiments.list_experiments(conn)[0]["status"] == "running"

        # Day 4: the schedule switches to -15 %; the step is queued, guardrailed and approved by the experiment.
        day = TODAY + timedelta(days=3)
        assert experiments.step_experiments(conn, day, now=at(day)) == {"stepped": [experiment_id]}
        step = store.list_actions(conn, limit=1)[0]
        assert step["action_type"] == "BUDGET_EXPERIMENT" and step["status"] == "approved"
        assert step["decided_by"] == f"experiment:{experiment_id}" and "alice" in step["decision_note"]
        assert step["params"]["new_daily_budget"] == budgets[3]
        assert experiments.step_experiments(conn, day, now=at(day)) == {"in_flight": [experiment_id]}
        execute(step["action_id"], at(day, 7))
        assert world.campaign_daily_budget(world.campaign(*key[::2])) == budgets[3]

        # Fast-forward: days 11 and 15 (back to the baseline), then completed.
        for offset, expected in ((10, budgets[10]), (14, current)):
            day = TODAY + timedelta(days=offset)
            outcome = experiments.step_experiments(conn, day, now=at(day))
            step = store.list_actions(conn, limit=1)[0]
            assert outcome == {"stepped": [experiment_id]}, step["last_error"]
            assert step["params"]["new_daily_budget"] == round(expected, 2)
            execute(step["action_id"], at(day, 7))
        assert experiments.step_experiments(conn, day, now=at(day, 8)) == {"completed": [experiment_id]}
        assert experiments.held_experiment_keys(conn) == set()

        # The refit records the narrowed uncertainty once the experiment's days have matured.
        assert experiments.record_refits(conn, {key: (0.52, 0.05)}, day) == []
        (refit,) = experiments.record_refits(conn, {key: (0.52, 0.05)}, day + timedelta(days=3))
        assert (refit["sd_before"], refit["sd_after"]) == (0.09, 0.05)
        (row,) = experiments.list_experiments(conn)
        assert row["status"] == "refitted" and row["started_on"] == TODAY and row["ended_on"] == day
        events = [r["event"] for r in audit_trail(conn, "budget_experiment", experiment_id)]
        assert events == [
            "budget_experiment.proposed",
            "budget_experiment.running",
            "budget_experiment.completed",
            "budget_experiment.refitted",
        ]


def test_a_rejected_first_step_rejects_the_experiment(url: str, sandbox: SandboxServer) -> None:
    world = sandbox.world
    campaign = next(
        c for c in world.campaigns("tiktok") if c.lifetime_budget is None and c.status == "ACTIVE"
    )
    key = (campaign.platform, campaign.account_id, campaign.id)
    current = world.campaign_daily_budget(campaign)
    schedule = abba_schedule(14, 0.15, -1)
    assessment = ExperimentAssessment(
        key=key, campaign_name=campaign.name, propose=True, reason="test", elasticity_mean=0.5,
        elasticity_sd=0.1, elasticity_sd_after=0.07, value_of_information=50.0, cost=5.0,
        baseline_daily=current, current_daily=current, sign=-1, schedule=schedule,
    )  # fmt: skip
    planned = PlannedExperiment(assessment, "USD", current, current, experiment_budgets(current, current, schedule),
                                TODAY, 0.15)  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        seed(conn, world, campaign)
        ((experiment_id, first_id),) = experiments.save_experiments(
            conn, None, [planned], now=at(TODAY)
        ).items()
        store.decide(conn, first_id, "reject", actor="bob", note="not this month")
        assert experiments.step_experiments(conn, TODAY, now=at(TODAY)) == {"rejected": [experiment_id]}
        assert key not in experiments.held_experiment_keys(conn)

        # Proposed again; the next allocation does not choose it: cancelled, its first step superseded.
        ((second_id, second_first),) = experiments.save_experiments(
            conn, None, [planned], now=at(TODAY)
        ).items()
        experiments.save_experiments(conn, None, [], now=at(TODAY + timedelta(days=1)))
        row = next(r for r in experiments.list_experiments(conn) if r["experiment_id"] == second_id)
        action = store.get_action(conn, second_first)
        assert row["status"] == "cancelled" and action is not None and action["status"] == "superseded"
