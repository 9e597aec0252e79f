"""Guardrails: one test per rule, over plain values (no database, no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.analytics.guardrails import (
    CampaignState,
    GuardrailContext,
    GuardrailSettings,
    HealthDay,
    RecentAction,
    evaluate,
)

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
HEALTHY = tuple(HealthDay(date(2026, 11, 14) - timedelta(days=i), "healthy", 95.0) for i in range(3))


def context(**overrides: object) -> GuardrailContext:
    values: dict[str, object] = {
        "now": NOW,
        "campaign": CampaignState("ACTIVE", 100.0, "DAILY"),
        "days_with_spend": 28,
        "health": HEALTHY,
        "recent_actions": (),
    }
    values.update(overrides)
    return GuardrailContext(**values)  # type: ignore[arg-type]


def outcome(verdict: object, name: str) -> str:
    return next(c.outcome for c in verdict.checks if c.name == name)  # type: ignore[attr-defined]


def test_a_sound_proposal_passes_every_check() -> None:
    verdict = evaluate("BUDGET_CHANGE", 120.0, context())
    assert not verdict.blocked and not verdict.clamped
    assert verdict.new_daily_budget == 120.0
    assert {c.name for c in verdict.checks} >= {
        "campaign_known",
        "status_transition",
        "daily_budget",
        "max_change_per_action",
        "max_change_per_day",
        "budget_floor",
        "cooldown",
        "minimum_data",
        "signal_health",
    }


def test_too_large_change_is_clamped_and_records_both_amounts() -> None:
    verdict = evaluate("REALLOCATE", 200.0, context())
    assert not verdict.blocked and verdict.clamped
    assert verdict.requested_daily_budget == 200.0
    assert verdict.new_daily_budget == 130.0  # +30 %
    check = next(c for c in verdict.checks if c.name == "max_change_per_action")
    assert (
        check.outcome == "clamped"
        and check.values["requested"] == 200.0
        and check.values["clamped_to"] == 130.0
    )
    # a cut clamps downward the same way
    assert evaluate("BUDGET_CHANGE", 10.0, context()).new_daily_budget == 70.0


def test_too_large_change_is_blocked_when_clamping_is_off() -> None:
    verdict = evaluate("BUDGET_CHANGE", 200.0, context(), GuardrailSettings(clamp_budget_changes=False))
    assert verdict.blocked and outcome(verdict, "max_change_per_action") == "blocked"
    assert verdict.new_daily_budget is None


def test_cumulative_change_within_a_day_counts_from_the_budget_before_the_first_change() -> None:
    # Executed 2 h ago: 100 → 125. The cooldown is off here to isolate the per-day rule.
    earlier = RecentAction(1, "BUDGET_CHANGE", "executed", NOW - timedelta(hours=2), 100.0, 125.0)
    settings = GuardrailSettings(cooldown_hours=0, max_daily_change_pct=40)
    ctx = context(campaign=CampaignState("ACTIVE", 125.0, "DAILY"), recent_actions=(earlier,))
    verdict = evaluate("BUDGET_CHANGE", 160.0, ctx, settings)  # +28 % on 125, but +60 % on the day
    assert outcome(verdict, "max_change_per_action") == "passed"
    assert outcome(verdict, "max_change_per_day") == "clamped"
    assert verdict.new_daily_budget == 140.0  # 100 + 40 %
    blocked = evaluate(
        "BUDGET_CHANGE",
        160.0,
        ctx,
        GuardrailSettings(cooldown_hours=0, max_daily_change_pct=40, clamp_budget_changes=False),
    )
    assert outcome(blocked, "max_change_per_day") == "blocked"


def test_budget_floor_is_never_crossed() -> None:
    ctx = context(campaign=CampaignState("ACTIVE", 6.0, "DAILY"))
    verdict = evaluate("BUDGET_CHANGE", 4.0, ctx, GuardrailSettings(min_daily_budget=5.0))
    assert verdict.blocked and outcome(verdict, "budget_floor") == "blocked"
    # a campaign already under the floor: a clamped raise that still lands below it blocks too
    ctx = context(campaign=CampaignState("ACTIVE", 3.0, "DAILY"))
    verdict = evaluate("BUDGET_CHANGE", 10.0, ctx, GuardrailSettings(min_daily_budget=5.0))
    assert verdict.blocked and "3.9 is below the minimum daily budget 5" in " ".join(verdict.reasons)
    assert not evaluate("BUDGET_CHANGE", 5.0, context(campaign=CampaignState("ACTIVE", 6.0, "DAILY"))).blocked


def test_cooldown_after_an_executed_change() -> None:
    earlier = RecentAction(7, "PAUSE", "executed", NOW - timedelta(hours=5))
    verdict = evaluate("BUDGET_CHANGE", 110.0, context(recent_actions=(earlier,)))
    assert verdict.blocked and outcome(verdict, "cooldown") == "blocked"
    assert "#7" in " ".join(verdict.reasons)
    old = RecentAction(7, "PAUSE", "executed", NOW - timedelta(hours=30))
    assert not evaluate("BUDGET_CHANGE", 110.0, context(recent_actions=(old,))).blocked


def test_an_action_in_flight_blocks_another_on_the_same_campaign() -> None:
    approved = RecentAction(3, "BUDGET_CHANGE", "approved", None)
    verdict = evaluate("PAUSE", None, context(recent_actions=(approved,)))
    assert verdict.blocked and "in flight" in " ".join(verdict.reasons)


def test_minimum_data() -> None:
    verdict = evaluate("PAUSE", None, context(days_with_spend=4))
    assert verdict.blocked and outcome(verdict, "minimum_data") == "blocked"
    assert not evaluate("PAUSE", None, context(days_with_spend=7)).blocked


@pytest.mark.parametrize(
    ("status", "block_on_degraded", "blocked"),
    [
        ("unhealthy", True, True),
        ("degraded", True, True),
        ("degraded", False, False),
        ("healthy", True, False),
    ],
)
def test_signal_health(status: str, block_on_degraded: bool, blocked: bool) -> None:
    health = (HealthDay(date(2026, 11, 14), status, 40.0), *HEALTHY[1:])
    verdict = evaluate(
        "PAUSE", None, context(health=health), GuardrailSettings(block_on_degraded=block_on_degraded)
    )
    assert verdict.blocked is blocked
    assert outcome(verdict, "signal_health") == ("blocked" if blocked else "passed")


def test_no_health_facts_blocks_and_old_bad_days_do_not() -> None:
    assert outcome(evaluate("PAUSE", None, context(health=())), "signal_health") == "blocked"
    old_bad = (*HEALTHY, HealthDay(date(2026, 11, 1), "unhealthy", 10.0))
    assert not evaluate("PAUSE", None, context(health=old_bad)).blocked  # outside the last 3 scored days


def test_pause_only_active_and_resume_only_paused() -> None:
    assert outcome(evaluate("PAUSE", None, context()), "status_transition") == "passed"
    paused = context(campaign=CampaignState("PAUSED", 100.0, "DAILY"))
    assert outcome(evaluate("PAUSE", None, paused), "status_transition") == "blocked"
    assert outcome(evaluate("RESUME", None, paused), "status_transition") == "passed"
    assert outcome(evaluate("RESUME", None, context()), "status_transition") == "blocked"
    removed = context(campaign=CampaignState("REMOVED", 100.0, "DAILY"))
    assert evaluate("BUDGET_CHANGE", 110.0, removed).blocked


def test_unknown_campaign_and_non_daily_budgets_are_blocked() -> None:
    assert outcome(evaluate("PAUSE", None, context(campaign=None)), "campaign_known") == "blocked"
    lifetime = context(campaign=CampaignState("ACTIVE", None, "LIFETIME"))
    verdict = evaluate("BUDGET_CHANGE", 110.0, lifetime)
    assert verdict.blocked and outcome(verdict, "daily_budget") == "blocked"


def test_a_change_to_the_current_budget_is_a_no_op() -> None:
    verdict = evaluate("BUDGET_CHANGE", 100.0, context())
    assert verdict.blocked and outcome(verdict, "no_op") == "blocked"


def test_settings_from_environment_and_bad_values_name_the_variable() -> None:
    settings = GuardrailSettings.from_env(
        {"ADSIGNAL_GUARDRAIL_MAX_CHANGE_PCT": "20", "ADSIGNAL_GUARDRAIL_BLOCK_ON_DEGRADED": "false"}
    )
    assert settings.max_change_pct == 20.0 and settings.block_on_degraded is False
    assert evaluate("BUDGET_CHANGE", 200.0, context(), settings).new_daily_budget == 120.0
    with pytest.raises(ValueError, match="ADSIGNAL_GUARDRAIL_MIN_DATA_DAYS"):
        GuardrailSettings.from_env({"ADSIGNAL_GUARDRAIL_MIN_DATA_DAYS": "seven"})
    with pytest.raises(ValueError, match="max_change_pct"):
        GuardrailSettings(max_change_pct=150)
