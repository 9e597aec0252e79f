"""The experiment loop benchmark: weeks of budget experiments, then the allocation, on three world families.

Per seed and world family (``sandbox``: :mod:`pipeline.sandbox.simulator`; ``market``:
:mod:`pipeline.bench.market`, different curve shapes and noise; ``market_dense``, held out: the
market's curves with ten times the orders for the same value, so less count noise), with the true
curves known:

1. Day T0: fit curves on 90 days of steady budgets, allocate the same total (``without``), value
   it on the true curves against the oracle (the allocation on the true curves) and the rules
   (``proportional_roas``, ``roas_tilted``); the allocation's 90 % interval is checked for
   coverage of the true expected outcome and uplift.
2. :func:`assess_experiments` picks the campaigns whose curvature is unidentified and worth an
   experiment. For ``experiment_days`` (14) they run their ABBA schedule (written into the world as
   budget changes), the rest are allocated on the T0 curves with them held.
3. Day T1: refit on everything (the experiment's variation included), allocate (``after``).
   The fair control (``without_refit``) applies the T0 allocation to every campaign for the same
   days and refits on that: the allocation's own moves are variation too. ``forced`` runs the
   experiment on every trusted campaign, ignoring the value-of-information test, to show what
   the test saves.

Scores are captured uplift, ``(R(split) - R(current)) / (R(oracle) - R(current))`` on the true
curves, and :mod:`pipeline.bench.budget_diagnosis` splits each gap into its causes. ``net``
values a whole cycle of ``experiment_days + horizon_days`` (14 + 84): the experiment's days at
what was spent during them, then the post-experiment allocation, against the same span of the
oracle; ``without`` gets the T0 allocation for 14 days then its own refit. The
experiment's cost is the value lost during it versus allocating at once, in days of the oracle's
gain and in percent of the revenue over those days.

    python -m pipeline.bench.budget_loop [--seeds N] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analytics.budget import (
    BoundsConfig,
    CurveConfig,
    CurveFit,
    allocate_budget,
    fit_response_curves,
)
from pipeline.analytics.budget.allocation import proportional_split
from pipeline.analytics.budget.experiments import (
    ExperimentConfig,
    assess_experiments,
    experiment_budgets,
    uncertainty_narrowing,
)
from pipeline.analytics.budget.successive import guarded_step, successive_allocation
from pipeline.analytics.budget.uncertainty import allocation_interval, curve_pool
from pipeline.bench.budget_diagnosis import curve_decomposition, cycle_decomposition
from pipeline.bench.market import MarketWorld
from pipeline.sandbox.simulator import Scenario, World

Key = tuple[str, str, str]
FAMILIES = ("sandbox", "market")


@dataclass(frozen=True)
class LoopConfig:
    seeds: int = 40
    first_seed: int = 1
    history_days: int = 90
    experiment_days: int = 14
    horizon_days: int = 84
    amplitude: float = 0.15
    min_fraction: float = 0.5
    max_fraction: float = 1.5
    t1: date = date(2025, 3, 31)  # the day after the experiment
    families: tuple[str, ...] = FAMILIES
    workers: int = 1
    # Successive allocation (allocate, apply, refit every step, allocate again) over the same cycle:
    steps: tuple[int, ...] = (14,)  # step lengths in days
    step_max_change: float | None = None  # each step moves at most this much per campaign (guardrail)
    thompson: bool = False  # also allocate each step on a posterior draw (measured worse on both families)


class _SandboxLoopWorld:
    """The sandbox simulator behind the loop's interface."""

    def __init__(self, seed: int, config: LoopConfig) -> None:
        self.scenario = Scenario(
            seed=seed, today=config.t1, history_days=config.history_days + config.experiment_days,
            platforms=("meta", "google_ads", "tiktok"), accounts_per_platform=2, campaigns_per_account=6,
            adgroups_per_campaign=2, ads_per_adgroup=2,
        )  # fmt: skip
        self.world = World(self.scenario)
        self.start = config.t1 - timedelta(days=config.history_days + config.experiment_days)

    def observed(self, as_of: date) -> pd.DataFrame:
        world = self.world
        world.now = datetime(as_of.year, as_of.month, as_of.day, 6, tzinfo=UTC)
        until = as_of - timedelta(days=1)
        ads = pd.concat(
            [world.metrics_frame(p, self.start, until) for p in world.platforms], ignore_index=True
        )
        daily = (
            ads.groupby(["platform", "account_id", "campaign_id", "date"], sort=True)[
                ["spend", "conversions", "conversion_value"]
            ]
            .sum()
            .reset_index()
            .rename(columns={"date": "date_day"})
        )
        daily["campaign_name"] = daily["campaign_id"]
        daily["currency"] = "SIM"
        return daily

    def set_multiplier(self, key: Key, day: date, multiplier: float) -> None:
        campaign = self.world.campaign(key[0], key[2])
        self.world.now = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        self.world.set_campaign_daily_budget(key[0], key[2], campaign.daily_budget * multiplier)

    def true_daily(self, key: Key, spend: float) -> float:
        return self.world.campaign(key[0], key[2]).revenue(spend)

    def active_through(self, key: Key, day: date) -> bool:
        campaign = self.world.campaign(key[0], key[2])
        return (campaign.paused_on is None or campaign.paused_on > day) and (
            campaign.end_date is None or campaign.end_date > day
        )


def _world(family: str, seed: int, config: LoopConfig) -> Any:
    if family == "sandbox":
        return _SandboxLoopWorld(seed, config)
    if family not in ("market", "market_dense"):
        raise ValueError(f"unknown world family {family!r} (sandbox, market, market_dense)")
    start = config.t1 - timedelta(days=config.history_days + config.experiment_days)
    return MarketWorld(
        seed, start=start, days=config.history_days + config.experiment_days + config.horizon_days,
        order_value_scale=0.1 if family == "market_dense" else 1.0,
    )  # fmt: skip


def _value(world: Any, split: dict[Key, float]) -> float:
    return sum(world.true_daily(k, s) for k, s in split.items())


def _fit(world: Any, as_of: date) -> dict[Key, CurveFit]:
    return fit_response_curves(world.observed(as_of), goal="value", config=CurveConfig(), as_of=as_of)


def run_seed(family: str, seed: int, config: LoopConfig) -> dict[str, Any]:
    started = time.perf_counter()
    t0 = config.t1 - timedelta(days=config.experiment_days)
    bounds = BoundsConfig(min_fraction=config.min_fraction, max_fraction=config.max_fraction)
    world = _world(family, seed, config)
    curves0 = _fit(world, t0)
    # Campaigns running from T0 through T1 (a campaign paused meanwhile leaves both paths alike).
    keys = [
        k
        for k, c in curves0.items()
        if c.current_spend > 0
        and c.status.value != "inactive"
        and world.active_through(k, config.t1 + timedelta(days=config.horizon_days))
    ]
    curves0 = {k: curves0[k] for k in keys}
    current = {k: curves0[k].current_spend for k in keys}
    total = sum(current.values())
    oracle = _oracle(world, keys, current, total, bounds)
    r_current, r_oracle = _value(world, current), _value(world, oracle)
    gap = r_oracle - r_current

    def captured(split: dict[Key, float]) -> float | None:
        return (_value(world, split) - r_current) / gap if gap > 1e-9 else None

    def allocate(curves: dict[Key, CurveFit]) -> dict[Key, float]:
        return allocate_budget(curves, total, current_spend=current, bounds=bounds, period_days=1).daily

    alloc0 = allocate_budget(curves0, total, current_spend=current, bounds=bounds, period_days=1)
    diagnosis0 = curve_decomposition(world, curves0, allocate, captured)
    roas = {k: c.observed_return for k, c in curves0.items()}
    proportional = proportional_split(
        curves0, total, roas, current_spend=current, bounds=bounds, period_days=1
    )
    tilted = proportional_split(curves0, total, {k: current[k] * roas[k] for k in keys}, current_spend=current,
                                bounds=bounds, period_days=1)  # fmt: skip
    interval = allocation_interval(curves0, alloc0.daily, current, period_days=1, n=400, seed=seed)
    true_alloc0 = _value(world, alloc0.daily)
    covered = interval.low <= true_alloc0 <= interval.high
    covered_uplift = interval.uplift_low <= true_alloc0 - r_current <= interval.uplift_high

    guard = 30.0  # the default guardrail: at most 30 % change per action
    experiment = ExperimentConfig(amplitude=config.amplitude, duration_days=config.experiment_days,
                                  horizon_days=config.horizon_days, draws=1000, seed=seed)  # fmt: skip
    pool0 = curve_pool(curves0)
    assessments = assess_experiments(curves0, alloc0, experiment, pool=pool0)
    chosen = {a.key: a for a in assessments if a.propose}
    forced = {
        a.key: replace(a, sign=1 if i % 2 == 0 else -1, schedule=tuple(
            1.0 + (1 if i % 2 == 0 else -1) * (m - 1.0) for m in _abba(config)))
        for i, a in enumerate(sorted(assessments, key=lambda a: -a.baseline_daily))
    }  # fmt: skip

    def cycle(designs: dict[Key, Any]) -> dict[str, Any]:
        """Apply the T0 allocation in the world, experiments varying around it, refit at T1."""
        varied = _world(family, seed, config)
        daily = {
            key: experiment_budgets(current[key], alloc0.daily[key], design.schedule, guard)
            for key, design in designs.items()
        }
        for key in keys:
            previous = 1.0
            for day, amount in enumerate(daily.get(key, (alloc0.daily[key],))):
                multiplier = amount / current[key]
                if abs(multiplier - previous) > 1e-6:
                    varied.set_multiplier(key, t0 + timedelta(days=day), multiplier)
                    previous = multiplier
        during = []
        for day in range(config.experiment_days):
            split = dict(alloc0.daily)
            for key, amounts in daily.items():
                split[key] = amounts[day]
            during.append(_value(world, split))
        curves1 = {k: c for k, c in _fit(varied, config.t1).items() if k in current}
        alloc1 = allocate(curves1)
        narrowing = uncertainty_narrowing(pool0, curve_pool(curves1), list(designs or keys))
        ratios = [after / before for before, after in narrowing.values() if before > 0]
        return {"experiments": len(designs), "after": captured(alloc1), "daily_during": during,
                "narrowing": float(np.median(ratios)) if ratios else None,
                "diagnosis": curve_decomposition(world, curves1, allocate, captured)}  # fmt: skip

    span = config.experiment_days + config.horizon_days

    def successive(step_days: int, thompson: bool) -> dict[str, Any]:
        """Allocate, apply for ``step_days``, refit on everything, allocate again, through the cycle."""
        varied = _world(family, seed, config)
        values: list[float] = []
        split = dict(current)
        applied = dict.fromkeys(keys, 1.0)
        for step, start in enumerate(range(0, span, step_days)):
            day0 = t0 + timedelta(days=start)
            sample = seed * 1000 + step if thompson else None
            target = alloc0.daily
            if start > 0 or thompson:
                fitted = _fit(varied, day0) if start > 0 else curves0
                latest = {k: fitted.get(k, curves0[k]) for k in keys}
                target = successive_allocation(latest, total, anchor_spend=current, bounds=bounds,
                                               sample_seed=sample).daily  # fmt: skip
            if config.step_max_change is not None:
                split = guarded_step(split, target, config.step_max_change)
            else:
                split = dict(target)
            for key in keys:
                multiplier = split[key] / current[key]
                if abs(multiplier - applied[key]) > 1e-6:
                    varied.set_multiplier(key, day0, multiplier)
                    applied[key] = multiplier
            values.extend([_value(world, split)] * min(step_days, span - start))
        net_value = sum(v - r_current for v in values) / (span * gap) if gap > 1e-9 else None
        return {"final": captured(split), "net": net_value}

    successive_runs = {
        f"{'thompson' if thompson else 'successive'}_{step}d": successive(step, thompson)
        for step in config.steps
        for thompson in ((False, True) if config.thompson else (False,))
    }

    without = cycle({})
    with_voi, with_all = cycle(chosen), cycle(forced)

    def net(result: dict[str, Any]) -> float | None:
        if gap <= 1e-9 or result["after"] is None:
            return None
        gained = (
            sum(v - r_current for v in result["daily_during"]) + config.horizon_days * result["after"] * gap
        )
        return gained / (span * gap)

    def cost(result: dict[str, Any]) -> tuple[float | None, float]:
        lost = sum(true_alloc0 - v for v in result["daily_during"])
        return (lost / gap if gap > 1e-9 else None), 100.0 * lost / (true_alloc0 * config.experiment_days)

    return {
        "family": family,
        "seed": seed,
        "campaigns": len(keys),
        "trusted": sum(c.trusted for c in curves0.values()),
        "oracle_uplift_pct": 100.0 * gap / r_current if r_current > 0 else None,
        "captured": {
            "without": captured(alloc0.daily),
            "without_refit": without["after"],
            "proportional_roas": captured(proportional),
            "roas_tilted": captured(tilted),
            "after_experiment": with_voi["after"],
            "after_forced": with_all["after"],
            # The goal read literally: the allocation after one cycle, net of the experiment's cost
            # (its lost value spread over the horizon the learned curves are used for).
            "after_experiment_net_of_cost": None if with_voi["after"] is None or cost(with_voi)[0] is None
            else with_voi["after"] - cost(with_voi)[0] / config.horizon_days,  # type: ignore[operator]
            **{f"end_of_cycle_{name}": r["final"] for name, r in successive_runs.items()},
        },
        "net_cycle": {"without": net(without), "with_experiments": net(with_voi), "forced": net(with_all),
                      **{name: r["net"] for name, r in successive_runs.items()}},
        "experiments": {"chosen": with_voi["experiments"], "forced": with_all["experiments"]},
        "cost_oracle_days": {"with_experiments": cost(with_voi)[0], "forced": cost(with_all)[0]},
        "cost_pct_revenue": {"with_experiments": cost(with_voi)[1], "forced": cost(with_all)[1]},
        "sd_ratio_after": {"with_experiments": with_voi["narrowing"], "forced": with_all["narrowing"],
                           "without": without["narrowing"]},
        "decomposition": {
            "t0_curves": diagnosis0,
            **{name: {"t1_curves": r["diagnosis"], "cycle": cycle_decomposition(
                captured_t0=captured(alloc0.daily), cost_oracle_days=cost(r)[0], after=r["diagnosis"],
                experiment_days=config.experiment_days, horizon_days=config.horizon_days)}
               for name, r in (("without", without), ("with_experiments", with_voi), ("forced", with_all))},
        },
        "interval": {"covered": covered, "covered_uplift": covered_uplift, "width_pct": 100.0 * (interval.high - interval.low) / max(interval.expected, 1e-9)},
        "seconds": time.perf_counter() - started,
    }  # fmt: skip


def _abba(config: LoopConfig) -> tuple[float, ...]:
    from pipeline.analytics.budget.experiments import abba_schedule

    return abba_schedule(config.experiment_days, config.amplitude)


def _oracle(
    world: Any, keys: list[Key], current: dict[Key, float], total: float, bounds: BoundsConfig
) -> dict[Key, float]:
    """The best split on the true curves: water-filling on numeric marginals (any concave shape)."""
    lo = np.array([current[k] * bounds.min_fraction for k in keys])
    hi = np.array([current[k] * bounds.max_fraction for k in keys])
    grids = [np.linspace(lo[i], hi[i], 400) for i in range(len(keys))]
    marginals = []
    for i, k in enumerate(keys):
        values = np.array([world.true_daily(k, s) for s in grids[i]])
        marginals.append(np.gradient(values, grids[i]))

    def spend_at(level: float) -> np.ndarray:
        out = np.empty(len(keys))
        for i in range(len(keys)):
            above = np.flatnonzero(marginals[i] >= level)
            out[i] = grids[i][above[-1]] if len(above) else lo[i]
        return out

    low, high = 0.0, max(float(np.max(m)) for m in marginals) + 1.0
    for _ in range(80):
        mid = 0.5 * (low + high)
        if spend_at(mid).sum() > total:
            low = mid
        else:
            high = mid
    spend = spend_at(high)
    spend *= total / spend.sum() if spend.sum() > 0 else 1.0  # close the grid's rounding
    return {k: float(s) for k, s in zip(keys, np.clip(spend, lo, hi), strict=True)}


def _stats(values: list[float | None]) -> dict[str, float | None]:
    clean = [v for v in values if v is not None]
    if not clean:
        return {"median": None, "p10": None, "mean": None}
    return {
        "median": float(np.median(clean)),
        "p10": float(np.percentile(clean, 10)),
        "mean": float(np.mean(clean)),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for family in sorted({r["family"] for r in runs}):
        mine = [r for r in runs if r["family"] == family]
        out[family] = {
            "seeds": len(mine),
            "captured": {name: _stats([r["captured"][name] for r in mine]) for name in mine[0]["captured"]},
            "net_cycle": {name: _stats([r["net_cycle"][name] for r in mine]) for name in mine[0]["net_cycle"]},
            "experiments_per_seed": {n: float(np.mean([r["experiments"][n] for r in mine])) for n in ("chosen", "forced")},
            "campaigns_per_seed": float(np.mean([r["campaigns"] for r in mine])),
            "cost_oracle_days": {n: _stats([r["cost_oracle_days"][n] for r in mine]) for n in ("with_experiments", "forced")},
            "cost_pct_revenue": {n: _stats([r["cost_pct_revenue"][n] for r in mine if r["experiments"]["chosen" if n == "with_experiments" else "forced"]]) for n in ("with_experiments", "forced")},
            "sd_ratio_after": {n: _stats([r["sd_ratio_after"][n] for r in mine]) for n in ("with_experiments", "forced", "without")},
            "interval_coverage": float(np.mean([r["interval"]["covered"] for r in mine])),
            "interval_coverage_uplift": float(np.mean([r["interval"]["covered_uplift"] for r in mine])),
            "interval_width_pct_median": float(np.median([r["interval"]["width_pct"] for r in mine])),
            "oracle_uplift_pct_median": float(np.median([r["oracle_uplift_pct"] for r in mine if r["oracle_uplift_pct"] is not None])),
            "seconds_per_seed": float(np.mean([r["seconds"] for r in mine])),
            "decomposition_median": _median_tree([r["decomposition"] for r in mine]),
        }  # fmt: skip
    return out


def _median_tree(trees: list[dict[str, Any]]) -> dict[str, Any]:
    """The per-leaf median of equally shaped nested dicts (leaves missing or None left out)."""
    out: dict[str, Any] = {}
    for name in trees[0] if trees else ():
        values = [t.get(name) for t in trees]
        if isinstance(values[0], dict):
            out[name] = _median_tree([v for v in values if isinstance(v, dict)])
        else:
            clean = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            out[name] = float(np.median(clean)) if clean else None
    return out


def _job(args: tuple[str, int, LoopConfig]) -> dict[str, Any]:
    return run_seed(*args)


def run(config: LoopConfig) -> dict[str, Any]:
    jobs = [
        (f, s, config)
        for f in config.families
        for s in range(config.first_seed, config.first_seed + config.seeds)
    ]
    started = time.perf_counter()
    if config.workers > 1:
        with ProcessPoolExecutor(max_workers=config.workers) as pool:
            runs = list(pool.map(_job, jobs))
    else:
        runs = [_job(j) for j in jobs]
    return {
        "benchmark": "budget_loop",
        "config": {**config.__dict__, "t1": config.t1.isoformat()},
        "goal": {"net_cycle_median": 0.95, "net_cycle_p10": 0.85},
        "summary": summarize(runs),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "runs": runs,
    }


def _print(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for family, s in result["summary"].items():
        table = Table(title=f"Experiment loop, {family} worlds: {s['seeds']} seeds, {s['campaigns_per_seed']:.0f} campaigns, "
                            f"oracle uplift median {s['oracle_uplift_pct_median']:+.2f} %")  # fmt: skip
        table.add_column("captured uplift (vs oracle)")
        table.add_column("median", justify="right")
        table.add_column("p10", justify="right")

        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.3f}"

        for name, stats in s["captured"].items():
            table.add_row(name, fmt(stats["median"]), fmt(stats["p10"]))
        for name, stats in s["net_cycle"].items():
            table.add_row(f"net over a cycle: {name}", fmt(stats["median"]), fmt(stats["p10"]))
        console.print(table)
        console.print(
            f"experiments per seed: {s['experiments_per_seed']['chosen']:.1f} chosen by value of information "
            f"(forced: {s['experiments_per_seed']['forced']:.1f}); cost median "
            f"{fmt(s['cost_oracle_days']['with_experiments']['median'])} oracle-gain days "
            f"(forced {fmt(s['cost_oracle_days']['forced']['median'])}), "
            f"{fmt(s['cost_pct_revenue']['with_experiments']['median'])} % of revenue during it when run; "
            f"elasticity sd after/before median {fmt(s['sd_ratio_after']['with_experiments']['median'])} "
            f"(forced {fmt(s['sd_ratio_after']['forced']['median'])}); 90 % interval covers the true outcome in "
            f"{s['interval_coverage']:.0%} and the true uplift in {s['interval_coverage_uplift']:.0%} of seeds "
            f"(width {s['interval_width_pct_median']:.1f} %); {s['seconds_per_seed']:.1f} s per seed"
        )
        _print_decomposition(console, family, s["decomposition_median"])


def _print_decomposition(console: Any, family: str, tree: dict[str, Any]) -> None:
    """Medians of where the gap to the oracle comes from (see :mod:`pipeline.bench.budget_diagnosis`)."""
    from rich.table import Table

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    table = Table(title=f"Where the gap comes from, {family} worlds (medians)")
    for column in ("curves", "captured", "curvature", "level", "family", "e rmse / spread"):
        table.add_column(column, justify="right" if column != "curves" else "left")
    rows = [("T0 fit", tree.get("t0_curves", {}))] + [
        (f"T1 {name}", tree.get(name, {}).get("t1_curves", {}))
        for name in ("without", "with_experiments", "forced")
    ]
    for label, d in rows:
        table.add_row(label, fmt(d.get("captured")), fmt(d.get("curvature")), fmt(d.get("level")),
                      fmt(d.get("family")), f"{fmt(d.get('elasticity_rmse'))} / {fmt(d.get('elasticity_spread'))}")  # fmt: skip
    console.print(table)
    cycle = Table(title=f"1 - net over a cycle, {family} worlds (medians, shares of the oracle's gain; "
                        "cap: the net with perfect curves from T1)")  # fmt: skip
    for column in ("policy", "T0 days", "exp. cost", "curvature", "level", "family", "cap"):
        cycle.add_column(column, justify="left" if column == "policy" else "right")
    for name in ("without", "with_experiments", "forced"):
        d = tree.get(name, {}).get("cycle", {})
        cycle.add_row(name, fmt(d.get("t0_curves")), fmt(d.get("experiment")), fmt(d.get("horizon_curvature")),
                      fmt(d.get("horizon_level")), fmt(d.get("horizon_family")),
                      fmt(d.get("net_with_perfect_curves_from_t1")))  # fmt: skip
    console.print(cycle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.budget_loop", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="seeds per family (default 40; 4 with --quick)"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--experiment-days", type=int, default=14, help="a multiple of 14 (default 14)")
    parser.add_argument("--amplitude", type=float, default=0.15, help="budget variation (default 0.15)")
    parser.add_argument("--horizon-days", type=int, default=84, help="days the learned curves are used (84)")
    parser.add_argument(
        "--steps", default="14", help="successive allocation: refit every N days (comma list)"
    )
    parser.add_argument(
        "--step-max-change", type=float, default=None, help="successive steps within this change (0.30)"
    )
    parser.add_argument("--thompson", action="store_true", help="also Thompson-sampled successive steps")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    config = LoopConfig(workers=args.workers, first_seed=args.first_seed,
                        families=tuple(f for f in args.families.split(",") if f),
                        experiment_days=args.experiment_days, amplitude=args.amplitude,
                        horizon_days=args.horizon_days,
                        steps=tuple(int(s) for s in args.steps.split(",") if s),
                        step_max_change=args.step_max_change, thompson=args.thompson)  # fmt: skip
    if args.quick:
        config = replace(config, seeds=4)
    if args.seeds is not None:
        config = replace(config, seeds=args.seeds)
    result = run(config)
    _print(result)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
