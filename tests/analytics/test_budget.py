"""Response curves and budget allocation on synthetic campaigns with known curves.

The generator follows the simulator's model: expected daily value ``vmax s / (h + s)`` times a
weekday demand factor and ~10 % lognormal noise, conversions Poisson at a fixed order value.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from pipeline.analytics.budget import (
    Binding,
    BoundsConfig,
    BudgetInfeasibleError,
    CurveConfig,
    CurveFit,
    FitStatus,
    Unallocated,
    allocate_budget,
    compare_strategies,
    fit_response_curves,
    response_curves_svg,
    svg_data_uri,
)

AS_OF = date(2026, 3, 2)  # a Monday
WEEKLY = (0.95, 0.97, 1.0, 1.02, 1.03, 1.12, 0.91)  # Monday..Sunday


def campaign_frame(
    campaign_id: str,
    *,
    vmax: float,
    half_sat: float,
    spend: np.ndarray,
    platform: str = "meta",
    account_id: str = "act_1",
    noise: float = 0.1,
    order_value: float = 50.0,
    seed: int = 0,
    as_of: date = AS_OF,
) -> pd.DataFrame:
    """One row per day ending the day before ``as_of``; ``spend`` is the daily spend, oldest first."""
    rng = np.random.default_rng(seed)
    days = [as_of - timedelta(days=len(spend) - i) for i in range(len(spend))]
    season = np.array([WEEKLY[d.weekday()] for d in days])
    expected = vmax * spend / (half_sat + spend) * season * rng.lognormal(-0.5 * noise**2, noise, len(spend))
    conversions = rng.poisson(expected / order_value)
    value = np.where(conversions > 0, expected, 0.0)  # value arrives with conversions
    return pd.DataFrame(
        {
            "date_day": days,
            "platform": platform,
            "account_id": account_id,
            "campaign_id": campaign_id,
            "campaign_name": f"Campaign {campaign_id}",
            "spend": np.round(spend, 2),
            "conversions": conversions,
            "conversion_value": np.round(value, 2),
            "currency": "USD",
        }
    )


def steady_spend(level: float, days: int, seed: int, sd: float = 0.1) -> np.ndarray:
    return level * np.random.default_rng(seed + 1000).lognormal(0.0, sd, days)


def known(key: str, vmax: float, half_sat: float, current: float, platform: str = "meta") -> CurveFit:
    return CurveFit.from_parameters(
        (platform, "act", key), vmax=vmax, half_saturation=half_sat, current_spend=current
    )


# --------------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------------


def test_fit_recovers_known_parameters_when_spend_varies() -> None:
    # Budgets moved between 0.3x and 3x of the reference over 90 days: the curve is identifiable.
    rng = np.random.default_rng(0)
    spend = 200.0 * np.exp(rng.uniform(np.log(0.3), np.log(3.0), 90))
    frame = campaign_frame("c1", vmax=2000.0, half_sat=400.0, spend=spend, seed=0)

    fit = fit_response_curves(frame, as_of=AS_OF)[("meta", "act_1", "c1")]

    assert fit.status is FitStatus.OK and fit.reason is None
    assert fit.vmax == pytest.approx(2000.0, rel=0.15)
    assert fit.half_saturation == pytest.approx(400.0, rel=0.25)
    truth = CurveFit.from_parameters(fit.key, vmax=2000.0, half_saturation=400.0, current_spend=200.0)
    for s in (100.0, 200.0, 400.0, 600.0):
        assert fit.response(s) == pytest.approx(truth.response(s), rel=0.06)
        assert fit.marginal(s) == pytest.approx(truth.marginal(s), rel=0.2)
    # Weekday demand is separated from the spend effect (geometric mean 1 on both sides).
    expected = np.array(WEEKLY) / np.exp(np.mean(np.log(WEEKLY)))
    assert np.array(fit.weekly_factors) == pytest.approx(expected, abs=0.06)
    assert fit.r2_holdout is not None and fit.r2_holdout > 0.7
    assert fit.mape_holdout is not None and fit.mape_holdout < 0.25
    assert fit.days == 87  # newest 3 days excluded: still restating
    assert json.dumps(fit.to_dict())  # JSON-ready


def test_steady_spend_borrows_curvature_from_the_pool() -> None:
    # Spend that barely moves says little about curvature: the pooled prior carries it, and the
    # level at the current spend is still measured well.
    frames, truths = [], {}
    for i in range(8):
        level, half_sat, target_roas = 100.0 + 40 * i, (150.0 + 30 * i), 2.0 + 0.2 * i
        vmax = target_roas * (half_sat + level)
        frames.append(
            campaign_frame(f"c{i}", vmax=vmax, half_sat=half_sat, spend=steady_spend(level, 75, i), seed=i)
        )
        truths[("meta", "act_1", f"c{i}")] = (vmax, half_sat, level)
    curves = fit_response_curves(pd.concat(frames), as_of=AS_OF)

    priors = {c.prior for c in curves.values()}
    assert len(priors) == 1  # one pooled prior for the run
    for key, (vmax, half_sat, level) in truths.items():
        curve = curves[key]
        assert curve.status is FitStatus.OK
        true_value = vmax * level / (half_sat + level)
        assert curve.response(level) == pytest.approx(true_value, rel=0.08)
        assert 0.2 < curve.elasticity < 0.85


def test_conversions_goal_uses_conversions() -> None:
    frame = campaign_frame("c1", vmax=2000.0, half_sat=300.0, spend=steady_spend(300, 60, 1), seed=1)
    fit = fit_response_curves(frame, goal="conversions", as_of=AS_OF)[("meta", "act_1", "c1")]
    # ~1000/day of value at 50 per order: ~20 conversions a day at 300 spend.
    assert fit.goal.value == "conversions"
    assert fit.response(300.0) == pytest.approx(20.0, rel=0.1)
    assert fit.observed_return == pytest.approx(20.0 / 300.0, rel=0.1)


def test_adstock_option_fits_a_curve_for_steady_state_spend() -> None:
    frame = campaign_frame("c1", vmax=2000.0, half_sat=300.0, spend=steady_spend(300, 60, 2), seed=2)
    fit = fit_response_curves(frame, config=CurveConfig(adstock_decay=0.3), as_of=AS_OF)[
        ("meta", "act_1", "c1")
    ]
    assert fit.status is FitStatus.OK and fit.adstock_decay == 0.3
    assert fit.response(300.0) == pytest.approx(1000.0, rel=0.1)


def test_thin_data_gets_a_conservative_treatment_with_a_reason() -> None:
    young = campaign_frame("young", vmax=2000.0, half_sat=300.0, spend=steady_spend(300, 12, 4), seed=4)
    tiny = campaign_frame(
        "tiny", vmax=40.0, half_sat=30.0, spend=steady_spend(20, 60, 5), seed=5, order_value=80
    )
    curves = fit_response_curves(pd.concat([young, tiny]), as_of=AS_OF)

    young_fit, tiny_fit = curves[("meta", "act_1", "young")], curves[("meta", "act_1", "tiny")]
    assert young_fit.status is FitStatus.THIN_DATA and "days with spend" in (young_fit.reason or "")
    assert tiny_fit.status is FitStatus.THIN_DATA and "conversions" in (tiny_fit.reason or "")
    # A campaign younger than the current-spend window is not diluted by days before it existed.
    assert young_fit.current_spend == pytest.approx(young["spend"].mean(), rel=1e-9)
    # The fallback curve values the campaign at its observed return where it is held.
    assert young_fit.response(young_fit.reference_spend) == pytest.approx(
        young_fit.observed_return * young_fit.reference_spend, rel=1e-6
    )

    good = campaign_frame("good", vmax=3000.0, half_sat=300.0, spend=steady_spend(300, 60, 6), seed=6)
    curves = fit_response_curves(pd.concat([young, tiny, good]), as_of=AS_OF)
    current = {k: c.current_spend for k, c in curves.items()}
    allocation = allocate_budget(curves, sum(current.values()) * 7, period_days=7)
    for c in allocation.campaigns:
        if c.campaign_id in ("young", "tiny"):
            assert c.binding is Binding.HELD and c.reason
            assert c.proposed_daily == pytest.approx(c.current_daily)
    assert any("held" in note for note in allocation.notes)


def test_poor_fit_when_the_newest_days_break_away() -> None:
    frame = campaign_frame("c1", vmax=2000.0, half_sat=300.0, spend=steady_spend(300, 80, 7), seed=7)
    # Value collapses over the last 20 days (e.g. a tracking problem the curve cannot explain).
    last = frame["date_day"] >= AS_OF - timedelta(days=20)
    frame.loc[last, "conversion_value"] *= 0.4
    frame.loc[last, "conversions"] = (frame.loc[last, "conversions"] * 0.4).round()
    fit = fit_response_curves(frame, as_of=AS_OF)[("meta", "act_1", "c1")]
    assert fit.status is FitStatus.POOR_FIT
    assert "below the curve" in (fit.reason or "")
    assert fit.holdout_bias is not None and fit.holdout_bias > 0.35


def test_campaign_without_recent_spend_is_inactive() -> None:
    spend = steady_spend(200, 60, 8)
    spend[-5:] = 0.0
    frame = campaign_frame("paused", vmax=2000.0, half_sat=300.0, spend=spend, seed=8)
    frame = frame[frame["spend"] > 0]  # platforms return no rows for days without delivery
    fit = fit_response_curves(frame, as_of=AS_OF)[("meta", "act_1", "paused")]
    assert fit.status is FitStatus.INACTIVE and fit.current_spend == 0.0


def test_database_decimals_and_duplicate_rows_are_accepted() -> None:
    frame = campaign_frame("c1", vmax=2000.0, half_sat=300.0, spend=steady_spend(300, 40, 3), seed=3)
    as_decimals = frame.astype({"spend": object, "conversion_value": object})
    as_decimals["spend"] = [Decimal(str(v)) for v in frame["spend"]]
    as_decimals["conversion_value"] = [Decimal(str(v)) for v in frame["conversion_value"]]
    plain = fit_response_curves(frame, as_of=AS_OF)[("meta", "act_1", "c1")]
    decimal = fit_response_curves(as_decimals, as_of=AS_OF)[("meta", "act_1", "c1")]
    assert decimal.vmax == pytest.approx(plain.vmax) and decimal.current_spend == pytest.approx(
        plain.current_spend
    )
    # A campaign-day split over two rows is summed.
    halves = pd.concat(
        [frame.assign(spend=frame["spend"] / 2, conversion_value=frame["conversion_value"] / 2)] * 2
    )
    halves["conversions"] = pd.concat(
        [frame["conversions"] // 2, frame["conversions"] - frame["conversions"] // 2]
    )
    split = fit_response_curves(halves, as_of=AS_OF)[("meta", "act_1", "c1")]
    assert split.observed_return == pytest.approx(plain.observed_return, rel=1e-9)


def test_missing_columns_are_reported() -> None:
    with pytest.raises(ValueError, match="spend"):
        fit_response_curves(pd.DataFrame({"date_day": [AS_OF]}))


# --------------------------------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------------------------------


def random_curves(n: int, seed: int, platforms: tuple[str, ...] = ("meta", "google_ads")) -> dict:
    rng = np.random.default_rng(seed)
    curves = {}
    for i in range(n):
        current = float(rng.uniform(50, 400))
        half_sat = current * float(rng.uniform(0.5, 2.0))
        vmax = float(rng.uniform(1.5, 4.0)) * (half_sat + current)
        curve = known(f"c{i}", vmax, half_sat, current, platforms[i % len(platforms)])
        curves[curve.key] = curve
    return curves


def scipy_optimum(curves: dict, lo: np.ndarray, hi: np.ndarray, budget: float) -> float:
    ordered = [curves[k] for k in sorted(curves)]

    def negative(s: np.ndarray) -> float:
        return -sum(float(c.response(v)) for c, v in zip(ordered, s, strict=True))

    result = minimize(
        negative, (lo + hi) / 2, method="SLSQP", bounds=list(zip(lo, hi, strict=True)),
        constraints=[{"type": "ineq", "fun": lambda s: budget - s.sum()}], options={"ftol": 1e-12, "maxiter": 500},
    )  # fmt: skip
    return -float(result.fun)


def test_allocation_respects_every_bound_and_the_total_and_is_optimal() -> None:
    curves = random_curves(12, seed=1)
    current = {k: c.current_spend for k, c in curves.items()}
    budget = sum(current.values())
    bounds = BoundsConfig(
        min_fraction=0.6, max_fraction=1.4, platform_floors={"google_ads": 0.55 * budget * 7}
    )
    allocation = allocate_budget(curves, budget * 7, bounds=bounds, period_days=7)

    assert allocation.allocated == pytest.approx(budget * 7, rel=1e-9)
    assert allocation.unallocated == 0.0 and allocation.unallocated_cause is Unallocated.NONE
    for c in allocation.campaigns:
        assert 0.6 * c.current_daily - 1e-9 <= c.proposed_daily <= 1.4 * c.current_daily + 1e-9
    google = next(p for p in allocation.platforms if p.platform == "google_ads")
    assert google.proposed >= 0.55 * budget * 7 - 1e-6
    assert sum(p.proposed for p in allocation.platforms) == pytest.approx(allocation.allocated)

    # Same problem without the floor: as good as a general NLP solver.
    free = allocate_budget(curves, budget, bounds=BoundsConfig(0.6, 1.4), period_days=1)
    lo = np.array([0.6 * current[k] for k in sorted(curves)])
    hi = np.array([1.4 * current[k] for k in sorted(curves)])
    assert free.expected_outcome >= scipy_optimum(curves, lo, hi, budget) - 1e-6 * free.expected_outcome


def test_hill_curves_with_slope_below_one_are_allocated_exactly() -> None:
    curves = {}
    rng = np.random.default_rng(2)
    for i in range(6):
        current = float(rng.uniform(80, 300))
        curve = CurveFit.from_parameters(
            ("meta", "act", f"h{i}"), vmax=float(rng.uniform(600, 1500)), half_saturation=current,
            current_spend=current, hill_slope=0.7,
        )  # fmt: skip
        curves[curve.key] = curve
    budget = sum(c.current_spend for c in curves.values())
    allocation = allocate_budget(curves, budget, period_days=1)
    lo = np.array([0.5 * curves[k].current_spend for k in sorted(curves)])
    hi = np.array([1.5 * curves[k].current_spend for k in sorted(curves)])
    assert allocation.allocated == pytest.approx(budget, rel=1e-9)
    assert allocation.expected_outcome >= scipy_optimum(curves, lo, hi, budget) * (1 - 1e-6)


def test_binding_constraints_are_reported() -> None:
    current = 100.0
    strong = known("strong", vmax=2000.0, half_sat=400.0, current=current)  # marginal ~3.2 at 100
    weak = known("weak", vmax=300.0, half_sat=100.0, current=current)  # marginal 0.75 at 100
    middle = known("middle", vmax=600.0, half_sat=100.0, current=current)  # marginal 1.5 at 100
    curves = {c.key: c for c in (strong, weak, middle)}
    allocation = allocate_budget(curves, 300.0, period_days=1)

    by_id = {c.campaign_id: c for c in allocation.campaigns}
    assert by_id["strong"].binding is Binding.MAX and by_id["strong"].proposed_daily == pytest.approx(150.0)
    assert by_id["weak"].binding is Binding.MIN and by_id["weak"].proposed_daily == pytest.approx(50.0)
    assert by_id["middle"].binding is Binding.NONE
    assert by_id["middle"].proposed_daily == pytest.approx(100.0)
    assert allocation.total_binding
    # The shadow price is the interior campaign's marginal return.
    assert allocation.shadow_price == pytest.approx(middle.marginal(100.0), rel=1e-6)
    assert allocation.binding_constraints() == {
        "total_budget": True,
        "platform_floors": [],
        "campaigns": {"max": ["strong"], "min": ["weak"]},
    }


def test_platform_floor_binding_is_reported() -> None:
    good = known("good", vmax=2000.0, half_sat=400.0, current=100.0, platform="meta")
    poor = known("poor", vmax=300.0, half_sat=100.0, current=100.0, platform="tiktok")
    curves = {c.key: c for c in (good, poor)}
    bounds = BoundsConfig(platform_floors={"tiktok": 90.0 * 7})
    allocation = allocate_budget(curves, 200.0 * 7, bounds=bounds, period_days=7)

    tiktok = next(p for p in allocation.platforms if p.platform == "tiktok")
    assert tiktok.floor_binding and tiktok.proposed == pytest.approx(90.0 * 7)
    assert {c.campaign_id: c.binding for c in allocation.campaigns}["poor"] is Binding.PLATFORM_FLOOR
    assert allocation.binding_constraints()["platform_floors"] == ["tiktok"]


def test_unallocated_budget_is_explained_when_every_campaign_is_at_its_max() -> None:
    curves = random_curves(4, seed=3)
    capacity = sum(1.5 * c.current_spend for c in curves.values())
    allocation = allocate_budget(curves, (capacity + 250.0) * 7, period_days=7)

    assert all(c.binding is Binding.MAX for c in allocation.campaigns)
    assert allocation.unallocated == pytest.approx(250.0 * 7, rel=1e-9)
    assert allocation.unallocated_cause is Unallocated.ALL_AT_MAX
    assert "maximum" in (allocation.unallocated_reason or "")
    assert not allocation.total_binding and allocation.shadow_price == 0.0


def test_min_marginal_return_leaves_budget_with_a_reason() -> None:
    curves = random_curves(6, seed=4)
    budget = sum(c.current_spend for c in curves.values()) * 1.4
    # Above every campaign's marginal return at current spend: all of them should shrink.
    floor = 1.01 * max(c.marginal(c.current_spend) for c in curves.values())
    allocation = allocate_budget(
        curves, budget, bounds=BoundsConfig(min_marginal_return=floor), period_days=1
    )
    assert allocation.unallocated == pytest.approx(budget - allocation.allocated)
    assert allocation.unallocated > 0.4 * budget / 1.4
    assert allocation.unallocated_cause is Unallocated.BELOW_MIN_RETURN
    assert "min_marginal_return" in (allocation.unallocated_reason or "")
    for c in allocation.campaigns:  # spend stops where the next unit returns the floor (or at a min bound)
        assert c.binding is Binding.MIN or c.marginal_return == pytest.approx(floor, rel=1e-6)


def test_infeasible_minimums_raise() -> None:
    curves = random_curves(3, seed=5)
    total = sum(c.current_spend for c in curves.values())
    with pytest.raises(BudgetInfeasibleError, match="minimums"):
        allocate_budget(curves, 0.3 * total, period_days=1)


def test_mixed_currencies_are_refused() -> None:
    a = CurveFit.from_parameters(
        ("meta", "a", "1"), vmax=10, half_saturation=1, current_spend=1, currency="USD"
    )
    b = CurveFit.from_parameters(
        ("meta", "b", "2"), vmax=10, half_saturation=1, current_spend=1, currency="EUR"
    )
    with pytest.raises(ValueError, match="currencies"):
        allocate_budget({a.key: a, b.key: b}, 2.0, period_days=1)


def test_allocation_beats_the_current_split_on_known_curves() -> None:
    for seed in range(5):
        curves = random_curves(10, seed=10 + seed)
        total = sum(c.current_spend for c in curves.values()) * 7
        allocation = allocate_budget(curves, total, period_days=7)
        assert allocation.expected_outcome > allocation.current_outcome
        comparison = compare_strategies(curves, total, period_days=7, allocation=allocation)
        outcomes = {s.name: s.expected_outcome for s in comparison.strategies}
        assert outcomes["current"] == pytest.approx(allocation.current_outcome, rel=1e-9)
        assert outcomes["optimized"] >= max(outcomes["current"], outcomes["proportional_roas"])
        assert all(s.spend == pytest.approx(total, rel=1e-9) for s in comparison.strategies)
        assert "| optimized |" in comparison.to_markdown()
        assert json.dumps(comparison.to_dict()) and json.dumps(allocation.to_dict())


def test_allocation_reports_period() -> None:
    curves = random_curves(3, seed=6)
    total = sum(c.current_spend for c in curves.values()) * 7
    allocation = allocate_budget(curves, total, period_days=7, period_start=date(2026, 3, 2))
    assert allocation.period_end == date(2026, 3, 8)
    assert allocation.to_dict()["period_end"] == "2026-03-08"


# --------------------------------------------------------------------------------------------------
# Picture
# --------------------------------------------------------------------------------------------------


def test_svg_is_well_formed_with_one_path_per_campaign() -> None:
    frames = [
        campaign_frame(f"c{i}", vmax=1500.0 + 300 * i, half_sat=250.0, spend=steady_spend(200, 60, i), seed=i)
        for i in range(5)
    ]
    frames.append(campaign_frame("young & <new>", vmax=900.0, half_sat=200.0, spend=steady_spend(150, 10, 9)))
    curves = fit_response_curves(pd.concat(frames), as_of=AS_OF)
    allocation = allocate_budget(curves, sum(c.current_spend for c in curves.values()), period_days=1)

    svg = response_curves_svg(curves, allocation)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert len(root.findall(f".//{ns}path")) == len(curves) == 6
    assert len(root.findall(f".//{ns}g[@class='campaign']")) == 6
    assert svg_data_uri(svg).startswith("data:image/svg+xml;base64,")
    # Without an allocation, and with fewer panels than campaigns.
    small = ET.fromstring(response_curves_svg(curves, max_panels=2))
    assert len(small.findall(f".//{ns}path")) == 2


# --------------------------------------------------------------------------------------------------
# Benchmark smoke
# --------------------------------------------------------------------------------------------------


def test_benchmark_quick_smoke(tmp_path: Path) -> None:
    from pipeline.bench import budget as bench

    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--seeds", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["config"]["seeds"] == 1 and result["config"]["history_days"] == 60
    assert len(result["runs"]) == 1
    run = result["runs"][0]
    assert set(run["true_revenue"]) == {
        "current", "oracle", "optimized", "proportional_roas", "roas_tilted", "diag_true_curvature",
        "diag_pooled_curvature",
    }  # fmt: skip
    # The oracle is optimal on the truth: nothing beats it.
    assert all(v <= run["true_revenue"]["oracle"] * (1 + 1e-9) for v in run["true_revenue"].values())
    for name in ("optimized", "proportional_roas"):
        summary = result["summary"][name]
        assert {"captured_median", "captured_p10"} <= set(summary)
        assert math.isfinite(summary["captured_median"])
