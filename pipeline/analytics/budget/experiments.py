"""Budget experiments: when a campaign's curvature is unidentified, vary its budget on purpose (pure).

Steady budgets move spend by a few percent a day (pacing), so each campaign's data say little about
how its return falls as spend grows (its *elasticity*), and the allocation leans on the pooled
elasticity of all campaigns (:mod:`.pooling`). A budget experiment varies one campaign's daily
budget by a known, balanced schedule and refits with that variation.

Design (:func:`abba_schedule`): ``+a`` for 3 days, ``-a`` for 7, ``+a`` for 4 (two weeks, default
``a = 15 %``) around the campaign's *allocated* daily spend (the baseline: the experiment rides on
the allocation, it does not hold the campaign back; the move to the allocated level is itself
variation the refit uses). Every weekday runs once at each level, so weekly demand cannot pose as
a spend effect, and the mean multiplier is exactly 1. Half of the experimenting campaigns run the
mirror (``-a, +a, -a``), paired by spend, so the total stays where it was. Each budget change is
one ``BUDGET_EXPERIMENT`` action through the queue (guardrails, approval, audit); a step from
``1 + a`` to ``1 - a`` is a change of ``2a / (1 + a)`` (26 % at 15 %), within the default 30 % per
action, and :func:`experiment_budgets` approaches a far baseline in steps within that limit.

Decision (:func:`assess_experiments`), per trusted campaign, at the allocation's water level
``lambda`` (what one unit of budget returns elsewhere):

- *identified*: its posterior elasticity sd is below ``identified_share`` of the population's: its own
  data already pin the curvature; no experiment.
- *value of information*: the expected gain, over ``horizon_days`` of allocations after the
  experiment, from deciding its spend with the posterior the experiment would leave (preposterior
  analysis: true elasticity drawn from the posterior, the experiment's estimate drawn around it
  with the standard error the design buys) instead of the current posterior.
- *cost*: over the experiment's days, the value lost to the variation itself (on a concave curve
  ``+a`` gains less than ``-a`` loses), valued on the posterior mean curve at the baseline.
- proposed when the value of information exceeds ``min_value_ratio`` x the cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from pipeline.analytics.budget.allocation import Allocation
from pipeline.analytics.budget.curves import CampaignKey, CurveFit
from pipeline.analytics.budget.pooling import ElasticityPool
from pipeline.analytics.budget.uncertainty import curve_pool, hill_from_anchor, hill_response


@dataclass(frozen=True)
class ExperimentConfig:
    amplitude: float = 0.15  # +-15 % of the baseline daily budget
    duration_days: int = 14  # a multiple of 14: ABBA blocks, each weekday once at each level
    horizon_days: int = 84  # how long the learned curve is expected to guide allocations
    min_value_ratio: float = 1.0  # propose when value of information >= ratio x cost
    identified_share: float = 0.5  # posterior sd below this share of the population sd: identified
    max_change_pct: float = 30.0  # the guardrail's per-action limit the design must respect
    draws: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.amplitude < 0.5:
            raise ValueError("amplitude must be in (0, 0.5)")
        if self.duration_days < 14 or self.duration_days % 14:
            raise ValueError("duration_days must be a positive multiple of 14")
        step = 2 * self.amplitude / (1 + self.amplitude) * 100
        if step > self.max_change_pct:
            raise ValueError(
                f"a step from +{self.amplitude:.0%} to -{self.amplitude:.0%} changes the budget by {step:.1f} %,"
                f" more than the guardrail's {self.max_change_pct:g} % per action"
            )


def abba_schedule(duration_days: int = 14, amplitude: float = 0.15, sign: int = 1) -> tuple[float, ...]:
    """Daily budget multipliers: per 14 days, A for 3 days, B for 7, A for 4 (A = 1 + sign x amplitude)."""
    if sign not in (1, -1):
        raise ValueError("sign is +1 or -1")
    block = [1] * 3 + [-1] * 7 + [1] * 4
    return tuple(round(1.0 + sign * s * amplitude, 6) for _ in range(duration_days // 14) for s in block)


def schedule_steps(schedule: Sequence[float]) -> list[tuple[int, float]]:
    """(day offset, multiplier) of each level change, ending with the return to 1.0 after the last day."""
    steps: list[tuple[int, float]] = []
    level = 1.0
    for offset, multiplier in enumerate([*schedule, 1.0]):
        if not math.isclose(multiplier, level):
            steps.append((offset, float(multiplier)))
            level = multiplier
    return steps


def multiplier_on(start: date, schedule: Sequence[float], day: date) -> float:
    """The schedule's multiplier on ``day`` (1.0 before and after the experiment)."""
    offset = (day - start).days
    return float(schedule[offset]) if 0 <= offset < len(schedule) else 1.0


def end_day(start: date, schedule: Sequence[float]) -> date:
    """The first day after the experiment (when the budget returns to its baseline)."""
    return start + timedelta(days=len(schedule))


def experiment_budgets(
    current: float, baseline: float, schedule: Sequence[float], max_change_pct: float = 30.0
) -> tuple[float, ...]:
    """Daily budgets of the experiment: ``baseline x schedule``, each day's change from the day before
    (starting at ``current``) kept within ``max_change_pct`` (the guardrail would clamp it anyway)."""
    limit = max_change_pct / 100.0
    out: list[float] = []
    previous = round(current, 2)
    for multiplier in schedule:
        # Cents rounded inwards, so the step as the guardrail sees it (rounded amounts) stays within.
        upper = math.floor(previous * (1.0 + limit) * 100 + 1e-9) / 100
        lower = math.ceil(previous * (1.0 - limit) * 100 - 1e-9) / 100
        budget = min(max(round(baseline * multiplier, 2), lower), upper)
        out.append(budget)
        previous = budget
    return tuple(out)


def design_information(schedule: Sequence[float]) -> float:
    """Sum of squared deviations of log spend the schedule adds (what identifies the elasticity)."""
    logs = np.log(np.asarray(schedule, dtype=np.float64))
    return float(np.sum((logs - logs.mean()) ** 2))


@dataclass(frozen=True)
class ExperimentAssessment:
    """Whether one campaign should run a budget experiment, and why."""

    key: CampaignKey
    campaign_name: str
    propose: bool
    reason: str
    elasticity_mean: float | None
    elasticity_sd: float | None  # posterior now
    elasticity_sd_after: float | None  # predicted after the experiment
    value_of_information: float  # over the horizon, daily outcome units x days
    cost: float  # over the experiment's days
    baseline_daily: float  # the allocated daily spend the schedule varies around
    current_daily: float
    sign: int = 1
    schedule: tuple[float, ...] = ()

    @property
    def platform(self) -> str:
        return self.key[0]

    def to_dict(self) -> dict[str, Any]:
        def r(value: float | None, digits: int = 4) -> float | None:
            return None if value is None or not math.isfinite(value) else round(value, digits)

        return {
            "platform": self.key[0],
            "account_id": self.key[1],
            "campaign_id": self.key[2],
            "campaign_name": self.campaign_name,
            "propose": self.propose,
            "reason": self.reason,
            "elasticity_mean": r(self.elasticity_mean),
            "elasticity_sd": r(self.elasticity_sd),
            "elasticity_sd_after": r(self.elasticity_sd_after),
            "value_of_information": r(self.value_of_information, 2),
            "cost": r(self.cost, 2),
            "baseline_daily": r(self.baseline_daily, 2),
            "current_daily": r(self.current_daily, 2),
            "sign": self.sign,
            "schedule": list(self.schedule),
        }


def _water_level(allocation: Allocation, curves: Mapping[CampaignKey, CurveFit]) -> float:
    if allocation.shadow_price > 0:
        return allocation.shadow_price
    marginals = [c.marginal_return for c in allocation.campaigns if c.binding.value == "none"]
    if marginals:
        return float(np.median(marginals))
    return float(np.median([c.marginal(c.current_spend) for c in curves.values() if c.trusted] or [0.0]))


def assess_experiments(
    curves: Mapping[CampaignKey, CurveFit],
    allocation: Allocation,
    config: ExperimentConfig | None = None,
    *,
    pool: ElasticityPool | None = None,
    eligible: Mapping[CampaignKey, bool] | None = None,
) -> list[ExperimentAssessment]:
    """One assessment per trusted campaign of ``allocation`` (see the module docstring).

    ``eligible`` (default: all) marks campaigns whose budget can be changed at all (a daily budget,
    healthy signal): the others are assessed but never proposed.
    """
    config = config or ExperimentConfig()
    pool = pool if pool is not None else curve_pool(curves)
    if not pool.keys:
        return []
    post_mean, post_sd = pool.posterior()
    column = {key: i for i, key in enumerate(pool.keys)}
    population_sd = pool.population_sd
    level = _water_level(allocation, curves)
    rng = np.random.default_rng(config.seed)
    z_true = rng.standard_normal(config.draws)
    z_experiment = rng.standard_normal(config.draws)
    schedule = abba_schedule(config.duration_days, config.amplitude)
    information = design_information(schedule)
    out: list[ExperimentAssessment] = []
    for line in allocation.campaigns:
        key = line.key
        curve = curves.get(key)
        if curve is None or key not in column or not curve.trusted or line.current_daily <= 0:
            continue
        mean, sd = float(post_mean[column[key]]), float(post_sd[column[key]])
        base = dict(key=key, campaign_name=curve.campaign_name, elasticity_mean=mean, elasticity_sd=sd,
                    baseline_daily=line.proposed_daily, current_daily=line.current_daily)  # fmt: skip
        if sd < config.identified_share * population_sd:
            out.append(ExperimentAssessment(**base, propose=False,
                reason=f"identified: posterior sd {sd:.3f} < {config.identified_share:g} x population sd "
                f"{population_sd:.3f}", elasticity_sd_after=sd, value_of_information=0.0, cost=0.0))  # fmt: skip
            continue
        days_info = curve.days * (curve.log_spend_sd or 0.0) ** 2
        own_se = (
            curve.elasticity_data_se if curve.elasticity_data_se and curve.elasticity_data_se < 10 else None
        )
        # The allocation's own move (current -> proposed, then held) is variation the refit learns from
        # anyway: the experiment is worth only what it adds to that.
        step = math.log(line.proposed_daily / line.current_daily) if line.proposed_daily > 0 else 0.0
        move = curve.days * config.duration_days / (curve.days + config.duration_days) * step**2
        if own_se is None or days_info <= 0:
            move_se = experiment_se = float("inf")
        else:  # the same noise per day, over the new variation instead of the history's
            move_se = own_se * math.sqrt(days_info / move) if move > 1e-12 else float("inf")
            experiment_se = own_se * math.sqrt(days_info / (move + information))
        value, cost, sd_after = _value_and_cost(curve, line.proposed_daily, line.min_daily, line.max_daily,
                                                 mean, sd, (move_se, experiment_se), level, schedule, config,
                                                 z_true, z_experiment)  # fmt: skip
        allowed = True if eligible is None else eligible.get(key, False)
        propose = allowed and value > 0 and value >= config.min_value_ratio * cost
        if propose:
            reason = (
                f"curvature unidentified (elasticity {mean:.2f} +- {sd:.2f}); a {config.duration_days}-day "
                f"+-{config.amplitude:.0%} experiment is worth {value:,.2f} over {config.horizon_days} days "
                f"and costs {cost:,.2f}"
            )
        elif not allowed:
            reason = "not eligible (no daily budget to vary, or signal health excludes it)"
        else:
            reason = f"value of information {value:,.2f} below the experiment's cost {cost:,.2f}"
        out.append(ExperimentAssessment(**base, propose=propose, reason=reason, elasticity_sd_after=sd_after,
                                        value_of_information=value, cost=cost))  # fmt: skip
    return _balance_signs(out, config)


def _value_and_cost(
    curve: CurveFit,
    baseline: float,
    low: float,
    high: float,
    mean: float,
    sd: float,
    standard_errors: tuple[float, float],
    level: float,
    schedule: Sequence[float],
    config: ExperimentConfig,
    z_true: np.ndarray,
    z_experiment: np.ndarray,
) -> tuple[float, float, float]:
    """(value of information over the horizon, cost over the experiment, predicted posterior sd after).

    ``standard_errors``: of the elasticity the refit would measure from the allocation's move alone, and
    from the move plus the experiment; the value is the difference of their preposterior gains."""
    k = curve.hill_slope
    anchor = float(curve.response(curve.reference_spend))
    e_grid = np.linspace(0.01 * k, 0.99 * k, 197)
    s_grid = np.geomspace(max(low, 1e-6), max(high, low * 1.0001, 1e-6), 81)
    vmax, half = hill_from_anchor(anchor, e_grid, curve.reference_spend, k)
    net = hill_response(s_grid[None, :], vmax[:, None], half[:, None], k) - level * s_grid[None, :]
    best_s = np.argmax(net, axis=1)  # the spend one would choose believing each elasticity

    def index(e: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(e_grid, e), 0, len(e_grid) - 1)

    truth = index(np.clip(mean + sd * z_true, e_grid[0], e_grid[-1]))
    now_choice = best_s[index(np.array([mean]))[0]]

    def learned(se: float) -> tuple[float, float]:
        """Expected daily gain of deciding after measuring the elasticity with ``se``, and the sd left."""
        if not math.isfinite(se) or sd <= 0:
            return 0.0, sd
        estimate = mean + sd * z_true + se * z_experiment
        precision = 1.0 / sd**2 + 1.0 / se**2
        after = (mean / sd**2 + estimate / se**2) / precision
        later_choice = best_s[index(after)]
        return float(np.mean(net[truth, later_choice] - net[truth, now_choice])), math.sqrt(1.0 / precision)

    gain_move, _ = learned(standard_errors[0])
    gain_both, sd_after = learned(standard_errors[1])
    value = max(gain_both - gain_move, 0.0) * config.horizon_days
    mean_index = index(np.array([mean]))[0]
    r_steady = hill_response(baseline, vmax[mean_index], half[mean_index], k)
    r_varied = np.mean(hill_response(baseline * np.asarray(schedule), vmax[mean_index], half[mean_index], k))
    cost = max(float(r_steady - r_varied), 0.0) * len(schedule)
    return value, cost, sd_after


def _balance_signs(
    assessments: list[ExperimentAssessment], config: ExperimentConfig
) -> list[ExperimentAssessment]:
    """Mirror half of the proposed experiments, paired by spend, so the total spend stays level."""
    proposed = sorted((a for a in assessments if a.propose), key=lambda a: -a.baseline_daily)
    up = down = 0.0
    signs: dict[CampaignKey, int] = {}
    for a in proposed:
        sign = 1 if up <= down else -1
        signs[a.key] = sign
        if sign > 0:
            up += a.baseline_daily
        else:
            down += a.baseline_daily
    return [
        replace(
            a, sign=signs[a.key], schedule=abba_schedule(config.duration_days, config.amplitude, signs[a.key])
        )
        if a.key in signs
        else a
        for a in assessments
    ]


def uncertainty_narrowing(
    before: ElasticityPool, after: ElasticityPool, keys: Sequence[CampaignKey]
) -> dict[CampaignKey, tuple[float, float]]:
    """Posterior elasticity sd (before, after) of ``keys`` found in both pools: what the refit learned."""
    _, b_sd = before.posterior()
    _, a_sd = after.posterior()
    b_index = {k: i for i, k in enumerate(before.keys)}
    a_index = {k: i for i, k in enumerate(after.keys)}
    return {
        key: (float(b_sd[b_index[key]]), float(a_sd[a_index[key]]))
        for key in keys
        if key in b_index and key in a_index
    }


__all__ = [
    "ExperimentAssessment",
    "ExperimentConfig",
    "abba_schedule",
    "assess_experiments",
    "design_information",
    "end_day",
    "experiment_budgets",
    "multiplier_on",
    "schedule_steps",
    "uncertainty_narrowing",
]
