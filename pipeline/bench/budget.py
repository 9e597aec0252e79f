"""Budget-allocation benchmark on simulated campaigns whose true response curves are known.

For each seed: build a sandbox world (``pipeline.sandbox.simulator``) with many campaigns, read
``history_days`` of *observed* daily data (noise, weekly seasonality, pacing, restatement of the
newest days: ``metrics_frame(truth=False)``), fit curves and allocate a total equal to the current
total spend, then value every strategy with the campaigns' TRUE curves (``Campaign.revenue``):

- ``current``: keep current daily spend;
- ``optimized``: :func:`allocate_budget` on the fitted curves (untrusted curves held);
- ``proportional_roas``: the total split in proportion to each campaign's observed ROAS;
- ``roas_tilted``: extra reference rule, spend in proportion to current spend x observed ROAS;
- ``oracle``: :func:`allocate_budget` on the true curves;
- ``diag_true_curvature`` (diagnostic, not a strategy): the fitted curves with each campaign's true
  curvature put in (the fitted level at the reference spend kept): separates what is lost to the
  curvature estimate from what is lost to the level estimate.
- ``diag_pooled_curvature`` (diagnostic): the fitted levels with one curvature for all, the true
  mean elasticity of the seed's campaigns: the best any fully pooled estimate could do. When spend
  barely moves, per-campaign curvature is hardly measurable and the estimate sits near this.

All under the same bounds (per-campaign [min, max] x current spend, same total). Score per seed:
captured uplift = (R(strategy) - R(current)) / (R(oracle) - R(current)); reported as median and
10th percentile over seeds. Simulated accounts have mixed currencies; the benchmark treats all
amounts as one unit (the truth is evaluated in the same unit, so scores are unaffected).

    python -m pipeline.bench.budget [--seeds N] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analytics.budget import (
    BoundsConfig,
    CurveConfig,
    CurveFit,
    FitStatus,
    allocate_budget,
    fit_response_curves,
    proportional_split,
)
from pipeline.sandbox.simulator import Scenario, World

STRATEGIES = ("optimized", "proportional_roas", "roas_tilted")
DIAGNOSTICS = ("diag_true_curvature", "diag_pooled_curvature")


@dataclass(frozen=True)
class BenchConfig:
    seeds: int = 100
    first_seed: int = 1
    history_days: int = 90
    platforms: tuple[str, ...] = ("meta", "google_ads", "tiktok")
    accounts_per_platform: int = 2
    campaigns_per_account: int = 6
    min_fraction: float = 0.5
    max_fraction: float = 1.5
    today: date = date(2025, 3, 31)
    budget_changes: int = 0  # budget changes per campaign in the history (0: steady budgets)
    workers: int = 1


def simulate(seed: int, config: BenchConfig) -> tuple[World, pd.DataFrame]:
    """A world and its observed campaign-daily frame (the mart's shape) before ``config.today``."""
    scenario = Scenario(
        seed=seed,
        today=config.today,
        history_days=config.history_days,
        platforms=config.platforms,
        accounts_per_platform=config.accounts_per_platform,
        campaigns_per_account=config.campaigns_per_account,
        adgroups_per_campaign=2,
        ads_per_adgroup=2,
    )
    world = World(scenario)
    since = config.today - timedelta(days=config.history_days)
    if config.budget_changes:
        _change_budgets(world, seed, since, config)
    # Early morning UTC on "today": the newest days are still restating, as in production.
    world.now = datetime(config.today.year, config.today.month, config.today.day, 6, tzinfo=UTC)
    until = config.today - timedelta(days=1)
    ads = pd.concat([world.metrics_frame(p, since, until) for p in world.platforms], ignore_index=True)
    daily = (
        ads.groupby(["platform", "account_id", "campaign_id", "date"], sort=True)[
            ["spend", "conversions", "conversion_value"]
        ]
        .sum()
        .reset_index()
        .rename(columns={"date": "date_day"})
    )
    daily["campaign_name"] = [
        world.campaign(p, c).name for p, c in zip(daily["platform"], daily["campaign_id"], strict=True)
    ]
    daily["currency"] = "SIM"  # one unit for all (see the module docstring)
    return world, daily


def _change_budgets(world: World, seed: int, since: date, config: BenchConfig) -> None:
    """Budget moves in the history (x0.6..1.6 of the original budget), as marketers make them.

    Written through the simulator's own write-back (effective from the pinned day on), so spend
    varies more than pacing alone and curvature becomes observable.
    """
    rng = np.random.default_rng([seed, 20_250_331])
    changes: list[tuple[date, str, str, float]] = []
    span = (config.today - since).days
    for platform in world.platforms:
        for campaign in world.campaigns(platform):
            days = sorted(rng.choice(np.arange(7, span - 7), size=config.budget_changes, replace=False))
            for offset in days:
                budget = round(campaign.daily_budget * float(rng.uniform(0.6, 1.6)), 2)
                changes.append((since + timedelta(days=int(offset)), platform, campaign.id, budget))
    for day, platform, campaign_id, budget in sorted(changes):
        world.now = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        world.set_campaign_daily_budget(platform, campaign_id, budget)


def run_seed(seed: int, config: BenchConfig) -> dict[str, Any]:
    started = time.perf_counter()
    world, frame = simulate(seed, config)
    simulated = time.perf_counter()
    curves = fit_response_curves(frame, goal="value", config=CurveConfig(), as_of=config.today)
    fitted = time.perf_counter()

    bounds = BoundsConfig(min_fraction=config.min_fraction, max_fraction=config.max_fraction)
    current = {k: c.current_spend for k, c in curves.items()}
    total = sum(current.values())  # one day: curves and allocations are daily
    truth = {
        k: CurveFit.from_parameters(
            k,
            vmax=world.campaign(k[0], k[2]).vmax,
            half_saturation=world.campaign(k[0], k[2]).half_sat,
            current_spend=current[k],
        )
        for k in curves
    }

    ours = allocate_budget(curves, total, current_spend=current, bounds=bounds, period_days=1).daily
    oracle = allocate_budget(truth, total, current_spend=current, bounds=bounds, period_days=1).daily
    roas = {k: c.observed_return for k, c in curves.items()}
    proportional = proportional_split(
        curves, total, roas, current_spend=current, bounds=bounds, period_days=1
    )
    tilted = proportional_split(
        curves, total, {k: current[k] * roas[k] for k in curves}, current_spend=current, bounds=bounds,
        period_days=1,
    )  # fmt: skip

    diagnostic = allocate_budget(
        {k: _with_true_curvature(c, world.campaign(k[0], k[2]).half_sat) for k, c in curves.items()}, total,
        current_spend=current, bounds=bounds, period_days=1,
    ).daily  # fmt: skip
    true_elasticity = [
        world.campaign(k[0], k[2]).half_sat / (world.campaign(k[0], k[2]).half_sat + c.reference_spend)
        for k, c in curves.items()
        if c.trusted and c.reference_spend > 0
    ]
    mean_elasticity = float(np.mean(true_elasticity)) if true_elasticity else 0.5
    pooled = allocate_budget(
        {k: _with_elasticity(c, mean_elasticity) for k, c in curves.items()}, total, current_spend=current,
        bounds=bounds, period_days=1,
    ).daily  # fmt: skip

    def true_revenue(split: dict[Any, float]) -> float:
        return sum(world.campaign(k[0], k[2]).revenue(split.get(k, 0.0)) for k in curves)

    r_current = true_revenue(current)
    r_oracle = true_revenue(oracle)
    gap = r_oracle - r_current
    results = {
        name: true_revenue(split)
        for name, split in (
            ("optimized", ours),
            ("proportional_roas", proportional),
            ("roas_tilted", tilted),
            ("diag_true_curvature", diagnostic),
            ("diag_pooled_curvature", pooled),
        )
    }
    statuses = [c.status for c in curves.values()]
    return {
        "seed": seed,
        "campaigns": len(curves),
        "trusted": sum(s is FitStatus.OK for s in statuses),
        "thin_data": sum(s is FitStatus.THIN_DATA for s in statuses),
        "poor_fit": sum(s is FitStatus.POOR_FIT for s in statuses),
        "inactive": sum(s is FitStatus.INACTIVE for s in statuses),
        "daily_budget": round(total, 2),
        "true_revenue": {"current": r_current, "oracle": r_oracle, **results},
        "oracle_uplift_pct": 100.0 * gap / r_current if r_current > 0 else None,
        "captured": {
            name: (value - r_current) / gap if gap > 1e-9 else None for name, value in results.items()
        },
        "elasticity_prior": next((c.prior for c in curves.values() if c.prior is not None), None),
        "seconds": {
            "simulate": simulated - started,
            "fit": fitted - simulated,
            "total": time.perf_counter() - started,
        },
    }


def _with_true_curvature(curve: CurveFit, half_sat: float) -> CurveFit:
    """The fitted curve's level at its reference spend, with the true half-saturation."""
    if not curve.trusted or curve.reference_spend <= 0:
        return curve
    level = float(curve.response(curve.reference_spend))
    vmax = level * (half_sat + curve.reference_spend) / curve.reference_spend
    return replace(curve, vmax=vmax, half_saturation=half_sat)


def _with_elasticity(curve: CurveFit, elasticity: float) -> CurveFit:
    """The fitted curve's level at its reference spend, with the given elasticity there (Hill k = 1)."""
    if not curve.trusted or curve.reference_spend <= 0:
        return curve
    return _with_true_curvature(curve, curve.reference_spend * elasticity / (1.0 - elasticity))


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in STRATEGIES + DIAGNOSTICS:
        captured = [r["captured"][name] for r in runs if r["captured"][name] is not None]
        uplift = [
            100.0 * (r["true_revenue"][name] / r["true_revenue"]["current"] - 1.0)
            for r in runs
            if r["true_revenue"]["current"] > 0
        ]
        summary[name] = {
            "captured_median": _percentile(captured, 50),
            "captured_p10": _percentile(captured, 10),
            "captured_p90": _percentile(captured, 90),
            "captured_mean": statistics.fmean(captured) if captured else None,
            "uplift_pct_median": _percentile(uplift, 50),
            "seeds_scored": len(captured),
        }
    oracle = [r["oracle_uplift_pct"] for r in runs if r["oracle_uplift_pct"] is not None]
    summary["oracle"] = {
        "uplift_pct_median": _percentile(oracle, 50),
        "uplift_pct_p10": _percentile(oracle, 10),
    }
    campaigns = sum(r["campaigns"] for r in runs)
    summary["curves"] = {
        key: sum(r[key] for r in runs) / campaigns if campaigns else None
        for key in ("trusted", "thin_data", "poor_fit", "inactive")
    }
    summary["seconds_per_seed"] = statistics.fmean(r["seconds"]["total"] for r in runs) if runs else None
    return summary


def run(config: BenchConfig) -> dict[str, Any]:
    seeds = list(range(config.first_seed, config.first_seed + config.seeds))
    started = time.perf_counter()
    if config.workers > 1:
        with ProcessPoolExecutor(max_workers=config.workers) as pool:
            runs = list(pool.map(run_seed, seeds, [config] * len(seeds)))
    else:
        runs = [run_seed(seed, config) for seed in seeds]
    config_dict = asdict(config)
    config_dict["today"] = config.today.isoformat()
    return {
        "benchmark": "budget",
        "config": config_dict,
        "goal": {"captured_median": 0.9, "captured_p10": 0.7},
        "summary": summarize(runs),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "runs": runs,
    }


def _print(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    config, summary = result["config"], result["summary"]
    table = Table(
        title=(
            f"Budget allocation benchmark: {config['seeds']} seeds, {config['history_days']} days, "
            f"bounds [{config['min_fraction']:g}, {config['max_fraction']:g}] x current, "
            f"{config['budget_changes']} budget changes per campaign, total = current total"
        )
    )
    table.add_column("strategy")
    table.add_column("captured uplift median", justify="right")
    table.add_column("p10", justify="right")
    table.add_column("p90", justify="right")
    table.add_column("revenue vs current (median)", justify="right")

    def fmt(value: float | None, pattern: str = "{:.3f}") -> str:
        return "-" if value is None else pattern.format(value)

    for name in STRATEGIES:
        s = summary[name]
        table.add_row(
            name, fmt(s["captured_median"]), fmt(s["captured_p10"]), fmt(s["captured_p90"]),
            fmt(s["uplift_pct_median"], "{:+.2f} %"),
        )  # fmt: skip
    table.add_row(
        "oracle (true curves)",
        "1.000",
        "1.000",
        "1.000",
        fmt(summary["oracle"]["uplift_pct_median"], "{:+.2f} %"),
        end_section=True,
    )
    for name in DIAGNOSTICS:
        s = summary[name]
        table.add_row(
            f"[dim]{name}[/dim]", fmt(s["captured_median"]), fmt(s["captured_p10"]), fmt(s["captured_p90"]),
            fmt(s["uplift_pct_median"], "{:+.2f} %"),
        )  # fmt: skip
    console = Console()
    console.print(table)
    curves = summary["curves"]
    console.print(
        f"curves: {curves['trusted']:.0%} trusted, {curves['thin_data']:.0%} thin data, "
        f"{curves['poor_fit']:.0%} poor fit, {curves['inactive']:.0%} inactive; "
        f"{summary['seconds_per_seed']:.2f} s per seed, {result['wall_seconds']:.1f} s wall. "
        f"Goal: median >= {result['goal']['captured_median']}, p10 >= {result['goal']['captured_p10']}."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.budget", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="number of seeds (default 100; 8 with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer seeds and days: a smoke run under a minute"
    )
    parser.add_argument("--days", type=int, default=None, help="history days (default 90; 60 with --quick)")
    parser.add_argument("--min-fraction", type=float, default=0.5)
    parser.add_argument("--max-fraction", type=float, default=1.5)
    parser.add_argument(
        "--budget-changes", type=int, default=0,
        help="budget changes per campaign in the simulated history (default 0: steady budgets)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="processes (seeds run in parallel)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    args = parser.parse_args(argv)

    config = BenchConfig(
        min_fraction=args.min_fraction, max_fraction=args.max_fraction, workers=args.workers,
        first_seed=args.first_seed, budget_changes=args.budget_changes,
    )  # fmt: skip
    if args.quick:
        config = replace(config, seeds=8, history_days=60)
    if args.seeds is not None:
        config = replace(config, seeds=args.seeds)
    if args.days is not None:
        config = replace(config, history_days=args.days)
    result = run(config)
    _print(result)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
