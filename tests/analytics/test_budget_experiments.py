"""Pooled elasticities, posterior draws, the allocation interval and budget experiments (pure logic)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pipeline.analytics.budget import CurveFit, allocate_budget
from pipeline.analytics.budget.experiment_plan import ExperimentSettings, attach_experiments
from pipeline.analytics.budget.experiments import (
    ExperimentConfig,
    abba_schedule,
    assess_experiments,
    design_information,
    end_day,
    experiment_budgets,
    multiplier_on,
    schedule_steps,
    uncertainty_narrowing,
)
from pipeline.analytics.budget.plan import plan_allocation
from pipeline.analytics.budget.pooling import pool_elasticities
from pipeline.analytics.budget.uncertainty import allocation_interval, curve_draws, curve_pool


def test_pooling_keeps_a_spread_between_campaigns_when_each_estimate_is_noisy() -> None:
    rng = np.random.default_rng(3)
    truth = rng.normal(0.55, 0.08, size=30)
    estimates = {i: (float(t + rng.normal(0, 0.22)), 0.22) for i, t in enumerate(truth)}
    pool = pool_elasticities(estimates)
    mean, sd = pool.posterior()
    # tau is integrated over, not plugged in at 0: the posterior sd stays honest (not ~0.03) ...
    assert 0.05 < float(np.median(sd)) < 0.2
    assert abs(pool.population_mean - 0.55) < 0.1
    # ... and each posterior mean lies between its own estimate and the population mean.
    for i, (value, _) in estimates.items():
        low, high = sorted((value, pool.population_mean))
        assert low - 1e-9 <= mean[i] <= high + 1e-9


def test_precise_estimates_speak_for_themselves_and_pinned_ones_borrow() -> None:
    estimates = {
        "a": (0.3, 0.01),
        "b": (0.7, 0.01),
        "c": (0.5, 0.01),
        "d": (0.45, 0.01),
        "pinned": (0.995, 0.2),
    }
    pool = pool_elasticities(estimates)
    post = pool.posterior_of()
    assert post["a"][0] == pytest.approx(0.3, abs=0.01)
    assert post["b"][0] == pytest.approx(0.7, abs=0.01)
    assert post["pinned"][0] == pytest.approx(pool.population_mean, abs=0.05)
    draws = pool.draws(500, np.random.default_rng(0))
    assert draws.shape == (500, 5)
    assert draws.min() >= pool.lower and draws.max() <= pool.upper


def test_abba_schedule_balances_weekdays_and_mean_and_its_mirror() -> None:
    schedule = abba_schedule(14, 0.15, 1)
    mirror = abba_schedule(14, 0.15, -1)
    assert np.mean(schedule) == pytest.approx(1.0)
    assert np.add(schedule, mirror) == pytest.approx(np.full(14, 2.0))
    for weekday in range(7):  # every weekday runs once at each level
        assert sorted(schedule[d] for d in range(14) if d % 7 == weekday) == pytest.approx([0.85, 1.15])
    assert schedule_steps(schedule) == [(0, 1.15), (3, 0.85), (10, 1.15), (14, 1.0)]
    start = date(2026, 12, 7)
    assert multiplier_on(start, schedule, start + timedelta(days=4)) == pytest.approx(0.85)
    assert multiplier_on(start, schedule, start - timedelta(days=1)) == 1.0
    assert end_day(start, schedule) == date(2026, 12, 21)
    assert design_information(abba_schedule(28, 0.15)) == pytest.approx(2 * design_information(schedule))


def test_experiment_steps_stay_within_the_guardrail() -> None:
    budgets = experiment_budgets(100.0, 150.0, abba_schedule(14, 0.15, 1), max_change_pct=30.0)
    previous = 100.0
    for amount in budgets:
        assert abs(amount / previous - 1) <= 0.30 + 1e-6
        previous = amount
    assert budgets[-1] == pytest.approx(172.5)  # the baseline reached, then varied around it
    with pytest.raises(ValueError, match="30 %"):
        ExperimentConfig(amplitude=0.2)


def _curves(n: int = 12, data_se: float = 0.25) -> dict[tuple[str, str, str], CurveFit]:
    rng = np.random.default_rng(1)
    curves = {}
    for i in range(n):
        key = ("meta", "a", f"c{i}")
        spend = float(rng.uniform(50, 500))
        elasticity = float(rng.uniform(0.35, 0.7))
        half = spend * elasticity / (1 - elasticity)
        roas = float(rng.uniform(1.5, 4.0))
        vmax = roas * spend * (half + spend) / spend
        curve = CurveFit.from_parameters(key, vmax=vmax, half_saturation=half, current_spend=spend)
        curves[key] = replace(
            curve, elasticity_data=float(elasticity + rng.normal(0, data_se)), elasticity_data_se=data_se,
            level_se=0.02, log_spend_sd=0.08, days=85,
        )  # fmt: skip
    return curves


def test_allocation_interval_brackets_the_expected_value_and_its_uplift() -> None:
    curves = _curves()
    current = {k: c.current_spend for k, c in curves.items()}
    allocation = allocate_budget(curves, 7 * sum(current.values()), period_days=7)
    interval = allocation_interval(curves, allocation.daily, current, period_days=7, n=300, seed=2)
    assert interval.low < interval.expected < interval.high
    assert interval.uplift_low < interval.uplift_high
    assert 0.0 <= interval.probability_uplift_positive <= 1.0
    assert interval.to_dict()["level"] == 0.9
    draws = curve_draws(curves, n=50, seed=1)
    assert draws.vmax.shape == (50, len(curves))


def test_unidentified_curves_with_stakes_get_an_experiment_identified_ones_do_not() -> None:
    curves = _curves(data_se=0.25)
    precise = ("meta", "a", "c0")
    curves[precise] = replace(curves[precise], elasticity_data_se=0.005)
    current = {k: c.current_spend for k, c in curves.items()}
    allocation = allocate_budget(curves, sum(current.values()), period_days=1)
    config = ExperimentConfig(horizon_days=365, draws=500)
    assessed = {a.key: a for a in assess_experiments(curves, allocation, config)}
    assert not assessed[precise].propose and assessed[precise].reason.startswith("identified")
    proposed = [a for a in assessed.values() if a.propose]
    assert proposed, [a.reason for a in assessed.values()]
    for a in proposed:
        assert a.elasticity_sd_after < a.elasticity_sd
        assert a.value_of_information >= a.cost > 0
        assert len(a.schedule) == 14
    # Paired signs keep the total level: up and down groups of similar spend.
    up = sum(a.baseline_daily for a in proposed if a.sign > 0)
    down = sum(a.baseline_daily for a in proposed if a.sign < 0)
    assert up > 0 and (down > 0 or len(proposed) == 1)
    # A short horizon does not pay for the experiment; ineligible campaigns are never proposed.
    short = assess_experiments(curves, allocation, ExperimentConfig(horizon_days=1, draws=500))
    assert not any(a.propose for a in short)
    none = assess_experiments(curves, allocation, config, eligible={})
    assert not any(a.propose for a in none)


def test_narrowing_compares_the_pools_before_and_after() -> None:
    before = curve_pool(_curves(data_se=0.25))
    after = curve_pool(_curves(data_se=0.05))
    narrowed = uncertainty_narrowing(before, after, [("meta", "a", "c1"), ("meta", "a", "missing")])
    assert list(narrowed) == [("meta", "a", "c1")]
    sd_before, sd_after = narrowed[("meta", "a", "c1")]
    assert sd_after < sd_before


def _steady_frame(campaigns: int = 8, days: int = 90) -> pd.DataFrame:
    """Mart-shaped rows of campaigns on steady budgets (spend wobbles 3 %): curvature unidentified."""
    as_of = date(2026, 3, 2)
    frames = []
    for i in range(campaigns):
        rng = np.random.default_rng(100 + i)
        level = float(rng.uniform(80, 400))
        half = level * float(rng.uniform(0.6, 2.0))
        roas = float(rng.uniform(2.0, 4.0))
        spend = level * rng.lognormal(0.0, 0.03, days)
        value = roas * (half + level) * spend / (half + spend) * rng.lognormal(0.0, 0.1, days)
        frames.append(
            pd.DataFrame(
                {
                    "date_day": [as_of - timedelta(days=days - d) for d in range(days)],
                    "platform": "meta",
                    "account_id": "1",
                    "campaign_id": f"c{i}",
                    "campaign_name": f"C {i}",
                    "currency": "USD",
                    "fx_rate": 1.0,
                    "spend": spend,
                    "spend_reporting": spend,
                    "conversions": value / 40,
                    "conversion_value_reporting": value,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_a_plan_gets_experiments_instead_of_reallocations_where_they_pay() -> None:
    as_of = date(2026, 3, 2)
    budgets = pd.DataFrame(
        [{"platform": "meta", "account_id": "1", "campaign_id": f"c{i}", "daily_budget": 500.0, "budget_type": "DAILY"}
         for i in range(8)]
    )  # fmt: skip
    plan = plan_allocation(_steady_frame(), as_of=as_of, campaigns=budgets)
    assert plan.interval is not None and plan.interval.low < plan.interval.high
    long = ExperimentSettings(horizon_days=3650)
    planned_plan, assessments, planned = attach_experiments(plan, long)
    assert len(assessments) == sum(1 for c in plan.curves.values() if c.trusted)
    assert planned, [a.reason for a in assessments]
    lines = {line.key: line for line in planned_plan.lines}
    for p in planned:
        assert not lines[p.key].propose and lines[p.key].not_proposed_reason.startswith("budget experiment")
        previous = p.current_daily_budget
        for amount in p.daily_budgets:  # every step within the guardrail's 30 %
            assert abs(amount / previous - 1) <= 0.30 + 1e-6
            previous = amount
        step = p.step(7, 0, p.daily_budgets[0])
        assert (step.action_type, step.source, step.source_ref) == (
            "BUDGET_EXPERIMENT",
            "experiment",
            "experiment:7",
        )
        assert step.evidence["multipliers"] == list(p.assessment.schedule)
    assert {p.key for p in planned}.isdisjoint({line.key for line in planned_plan.lines if line.propose})
    # Off, or all running already: nothing proposed.
    assert attach_experiments(plan, ExperimentSettings(enabled=False))[2] == []
    assert attach_experiments(plan, long, exclude=set(plan.curves))[2] == []


def test_experiment_settings_from_the_environment() -> None:
    assert ExperimentSettings.from_env({}) == ExperimentSettings()
    settings = ExperimentSettings.from_env({"ADSIGNAL_EXPERIMENTS": "0", "ADSIGNAL_EXPERIMENT_DAYS": "28"})
    assert not settings.enabled and settings.duration_days == 28
    with pytest.raises(ValueError, match="ADSIGNAL_EXPERIMENT_AMPLITUDE"):
        ExperimentSettings.from_env({"ADSIGNAL_EXPERIMENT_AMPLITUDE": "lots"})
    with pytest.raises(ValueError, match="multiple of 14"):
        ExperimentSettings.from_env({"ADSIGNAL_EXPERIMENT_DAYS": "10"})
    with pytest.raises(ValueError, match="per action"):
        ExperimentSettings.from_env({"ADSIGNAL_EXPERIMENT_AMPLITUDE": "0.15"}, max_change_pct=20.0)
