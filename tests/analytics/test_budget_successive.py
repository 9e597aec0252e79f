"""Successive allocation: bounds around the anchor spend, and posterior-sampled (Thompson) steps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.analytics.budget import BoundsConfig, CurveFit, allocate_budget
from pipeline.analytics.budget.plan import AllocationSettings
from pipeline.analytics.budget.successive import (
    guard_allocation,
    guarded_step,
    sampled_curves,
    successive_allocation,
)


def _curves(n: int = 10) -> dict[tuple[str, str, str], CurveFit]:
    rng = np.random.default_rng(4)
    curves = {}
    for i in range(n):
        key = ("meta", "a", f"c{i}")
        spend = float(rng.uniform(50, 500))
        elasticity = float(rng.uniform(0.35, 0.7))
        half = spend * elasticity / (1 - elasticity)
        vmax = float(rng.uniform(1.5, 4.0)) * (half + spend)
        curve = CurveFit.from_parameters(key, vmax=vmax, half_saturation=half, current_spend=spend)
        curves[key] = replace(
            curve, elasticity_data=float(elasticity + rng.normal(0, 0.2)), elasticity_data_se=0.2,
            level_se=0.02, log_spend_sd=0.08, days=85,
        )  # fmt: skip
    return curves


def test_a_step_stays_within_bounds_around_the_anchor_not_the_last_step() -> None:
    curves = _curves()
    anchor = {k: c.current_spend for k, c in curves.items()}
    # The curves were refitted after a first step moved every campaign: their current spend is
    # 1.4x the anchor. Bounds must still be taken around the anchor.
    moved = {k: replace(c, current_spend=1.4 * c.current_spend) for k, c in curves.items()}
    bounds = BoundsConfig(min_fraction=0.5, max_fraction=1.5)
    step = successive_allocation(moved, sum(anchor.values()), anchor_spend=anchor, bounds=bounds)
    assert sum(step.daily.values()) == pytest.approx(sum(anchor.values()), rel=1e-6)
    for key, spend in step.daily.items():
        assert 0.5 * anchor[key] - 1e-6 <= spend <= 1.5 * anchor[key] + 1e-6


def test_a_sampled_step_is_reproducible_differs_from_the_mean_and_keeps_the_total() -> None:
    curves = _curves()
    anchor = {k: c.current_spend for k, c in curves.items()}
    total = sum(anchor.values())
    mean = successive_allocation(curves, total, anchor_spend=anchor).daily
    first = successive_allocation(curves, total, anchor_spend=anchor, sample_seed=7).daily
    again = successive_allocation(curves, total, anchor_spend=anchor, sample_seed=7).daily
    other = successive_allocation(curves, total, anchor_spend=anchor, sample_seed=8).daily
    assert first == again
    assert first != mean and first != other
    assert sum(first.values()) == pytest.approx(total, rel=1e-6)


def test_sampled_curves_keep_the_level_near_the_reference_spend() -> None:
    curves = _curves()
    drawn = sampled_curves(curves, seed=3)
    assert set(drawn) == set(curves)
    for key, curve in curves.items():
        at_reference = curve.reference_spend
        ratio = drawn[key].response(at_reference) / curve.response(at_reference)
        assert 0.8 < ratio < 1.25  # the level is measured; the curvature is what varies


def test_a_guarded_step_moves_every_campaign_the_same_fraction_within_the_limit() -> None:
    previous = {("m", "a", "x"): 100.0, ("m", "a", "y"): 100.0, ("m", "a", "z"): 100.0}
    target = {("m", "a", "x"): 150.0, ("m", "a", "y"): 70.0, ("m", "a", "z"): 80.0}
    step = guarded_step(previous, target, max_change=0.30)
    # x wants +50 %: every campaign goes 60 % of its way; the total stays.
    assert step[("m", "a", "x")] == pytest.approx(130.0)
    assert step[("m", "a", "y")] == pytest.approx(82.0)
    assert step[("m", "a", "z")] == pytest.approx(88.0)
    assert sum(step.values()) == pytest.approx(300.0)
    assert guarded_step(previous, {k: v * 1.1 for k, v in previous.items()}) == pytest.approx(
        {k: v * 1.1 for k, v in previous.items()}
    )


def test_a_guarded_allocation_is_one_step_toward_the_optimum_with_the_total_kept() -> None:
    curves = _curves()
    current = {k: c.current_spend for k, c in curves.items()}
    full = allocate_budget(curves, 7 * sum(current.values()), current_spend=current, period_days=7)
    assert max(abs(s / current[k] - 1) for k, s in full.daily.items()) > 0.3
    step = guard_allocation(full, curves, 0.3)
    assert max(abs(s / current[k] - 1) for k, s in step.daily.items()) <= 0.3 + 1e-9
    assert sum(step.daily.values()) == pytest.approx(sum(full.daily.values()), rel=1e-9)
    # Concave curves: part of the way earns part of the gain, never more than the optimum.
    assert full.current_outcome < step.expected_outcome <= full.expected_outcome + 1e-9
    assert step.expected_outcome == pytest.approx(sum(c.expected_proposed for c in step.campaigns))
    assert sum(p.proposed for p in step.platforms) == pytest.approx(7 * sum(step.daily.values()))


def test_the_step_limit_is_read_from_the_environment() -> None:
    assert AllocationSettings.from_env({}).max_step is None
    assert AllocationSettings.from_env({"ADSIGNAL_ALLOCATION_MAX_STEP": "0.3"}).max_step == 0.3
    with pytest.raises(ValueError, match="MAX_STEP"):
        AllocationSettings.from_env({"ADSIGNAL_ALLOCATION_MAX_STEP": "1.5"})
