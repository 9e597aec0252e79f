"""Allocate a period's budget over campaigns to maximise the expected outcome.

Problem (daily amounts; the period total is ``period_days`` times the daily one)::

    maximise   sum_i R_i(s_i)
    subject to sum_i s_i <= B                      total budget
               lo_i <= s_i <= hi_i                 per campaign, relative to current spend
               sum_{i in p} s_i >= F_p             platform floors
               R_i'(s_i) >= r_min (optional)       do not buy returns below r_min

Every ``R_i`` is concave (Hill slope <= 1), so the KKT conditions are necessary and sufficient and
the optimum is a *water level*: every campaign spends where its marginal return equals one price
``lambda`` (clipped to its bounds); a platform whose floor binds gets its own lower level. The
solver bisects on ``lambda`` (and, inside, on each binding platform's level): exact up to
floating point and fast (no general NLP solver). The same solver, with ``R_i = w_i log s_i``, gives
the "split in proportion to w" baselines under identical bounds.

Campaigns whose curve is not trusted (thin data, poor fit) are held at current spend (or within
``BoundsConfig.held_change`` of it); inactive ones get nothing. All amounts must be in one
currency: curves carrying different ``currency`` values are refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import numpy as np

from pipeline.analytics.budget.curves import CampaignKey, CurveFit, FitStatus, Goal

_REL_TOL = 1e-9


class BudgetInfeasibleError(ValueError):
    """The minimums (campaign lower bounds, held campaigns, platform floors) exceed the budget."""


class Binding(StrEnum):
    NONE = "none"  # interior: marginal return equals the budget's shadow price
    MIN = "min"  # at its lower bound (min_fraction x current)
    MAX = "max"  # at its upper bound (max_fraction x current)
    PLATFORM_FLOOR = "platform_floor"  # raised above the water level to meet its platform's floor
    HELD = "held"  # curve not trusted: held near current spend
    INACTIVE = "inactive"  # no current spend: not allocated


class Unallocated(StrEnum):
    NONE = "none"
    ALL_AT_MAX = "all_at_max"  # every campaign at its maximum (or held): nowhere left to spend
    BELOW_MIN_RETURN = "below_min_return"  # the next unit would return less than min_marginal_return


@dataclass(frozen=True)
class BoundsConfig:
    """Constraints of the allocation. Fractions are of each campaign's current daily spend."""

    min_fraction: float = 0.5
    max_fraction: float = 1.5
    held_change: float = 0.0  # untrusted curves may move within +-this fraction of current
    platform_floors: Mapping[str, float] = field(default_factory=dict)  # minimum per platform, period amount
    min_marginal_return: float | None = None  # e.g. 1.0: never buy ROAS below break-even at the margin

    def __post_init__(self) -> None:
        if not 0 <= self.min_fraction <= 1 <= self.max_fraction:
            raise ValueError("bounds need 0 <= min_fraction <= 1 <= max_fraction")
        if not 0 <= self.held_change < 1:
            raise ValueError("held_change must be in [0, 1)")
        if any(v < 0 for v in self.platform_floors.values()):
            raise ValueError("platform floors must be non-negative")
        if self.min_marginal_return is not None and self.min_marginal_return < 0:
            raise ValueError("min_marginal_return must be non-negative")

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_fraction": self.min_fraction,
            "max_fraction": self.max_fraction,
            "held_change": self.held_change,
            "platform_floors": dict(self.platform_floors),
            "min_marginal_return": self.min_marginal_return,
        }


@dataclass(frozen=True)
class CampaignAllocation:
    platform: str
    account_id: str
    campaign_id: str
    campaign_name: str
    fit_status: FitStatus
    reason: str | None
    current_daily: float
    proposed_daily: float
    min_daily: float
    max_daily: float
    binding: Binding
    expected_current: float  # period outcome at current spend
    expected_proposed: float  # period outcome at proposed spend
    marginal_return: float  # at the proposed spend (return of the next unit)
    extrapolated: bool  # proposed spend outside the range the curve was fitted on (by > 10 %)
    period_days: int

    @property
    def key(self) -> CampaignKey:
        return (self.platform, self.account_id, self.campaign_id)

    @property
    def proposed_period(self) -> float:
        return self.proposed_daily * self.period_days

    @property
    def change(self) -> float | None:
        return self.proposed_daily / self.current_daily - 1.0 if self.current_daily > 0 else None

    def to_dict(self) -> dict[str, Any]:
        change = self.change
        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "fit_status": self.fit_status.value,
            "reason": self.reason,
            "current_daily": round(self.current_daily, 2),
            "proposed_daily": round(self.proposed_daily, 2),
            "proposed_period": round(self.proposed_period, 2),
            "change": None if change is None else round(change, 4),
            "min_daily": round(self.min_daily, 2),
            "max_daily": round(self.max_daily, 2),
            "binding": self.binding.value,
            "expected_current": round(self.expected_current, 2),
            "expected_proposed": round(self.expected_proposed, 2),
            "marginal_return": round(self.marginal_return, 4),
            "extrapolated": self.extrapolated,
        }


@dataclass(frozen=True)
class PlatformAllocation:
    platform: str
    campaigns: int
    current: float  # period amounts
    proposed: float
    floor: float | None
    floor_binding: bool
    expected_current: float
    expected_proposed: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "campaigns": self.campaigns,
            "current": round(self.current, 2),
            "proposed": round(self.proposed, 2),
            "floor": None if self.floor is None else round(self.floor, 2),
            "floor_binding": self.floor_binding,
            "expected_current": round(self.expected_current, 2),
            "expected_proposed": round(self.expected_proposed, 2),
        }


@dataclass(frozen=True)
class Allocation:
    """The proposed split of ``total_budget`` over ``period_days`` and everything it rests on.

    Outcomes are expected values on the fitted curves, for the whole period, in the goal's unit
    (conversion value, or conversions). ``shadow_price`` is what one more unit of budget would
    return at the margin (0 when the total does not bind).
    """

    goal: Goal
    period_days: int
    period_start: date | None
    total_budget: float
    allocated: float
    unallocated: float
    unallocated_cause: Unallocated
    unallocated_reason: str | None
    total_binding: bool
    shadow_price: float
    expected_outcome: float
    current_outcome: float  # every campaign at its current daily spend
    current_spend: float  # period amount of the current daily spend
    campaigns: tuple[CampaignAllocation, ...]
    platforms: tuple[PlatformAllocation, ...]
    bounds: BoundsConfig
    notes: tuple[str, ...] = ()

    @property
    def period_end(self) -> date | None:
        return None if self.period_start is None else self.period_start + timedelta(days=self.period_days - 1)

    @property
    def daily(self) -> dict[CampaignKey, float]:
        return {c.key: c.proposed_daily for c in self.campaigns}

    @property
    def expected_uplift(self) -> float:
        return self.expected_outcome - self.current_outcome

    def binding_constraints(self) -> dict[str, Any]:
        """The active constraints, grouped: what limits the solution."""
        by_kind: dict[str, list[str]] = {}
        for c in self.campaigns:
            if c.binding is not Binding.NONE:
                by_kind.setdefault(c.binding.value, []).append(c.campaign_id)
        return {
            "total_budget": self.total_binding,
            "platform_floors": [p.platform for p in self.platforms if p.floor_binding],
            "campaigns": by_kind,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "goal": self.goal.value,
            "period_start": None if self.period_start is None else self.period_start.isoformat(),
            "period_end": None if self.period_end is None else self.period_end.isoformat(),
            "period_days": self.period_days,
            "total_budget": round(self.total_budget, 2),
            "allocated": round(self.allocated, 2),
            "unallocated": round(self.unallocated, 2),
            "unallocated_cause": self.unallocated_cause.value,
            "unallocated_reason": self.unallocated_reason,
            "total_binding": self.total_binding,
            "shadow_price": round(self.shadow_price, 4),
            "expected_outcome": round(self.expected_outcome, 2),
            "current_outcome": round(self.current_outcome, 2),
            "current_spend": round(self.current_spend, 2),
            "expected_uplift": round(self.expected_uplift, 2),
            "binding_constraints": self.binding_constraints(),
            "bounds": self.bounds.to_dict(),
            "platforms": [p.to_dict() for p in self.platforms],
            "campaigns": [c.to_dict() for c in self.campaigns],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------------
# The solver
# --------------------------------------------------------------------------------------------------

# clipped(levels) -> spend per campaign at the given (per-campaign) marginal levels, within bounds
Clipped = Callable[[np.ndarray], np.ndarray]


@dataclass
class _Solution:
    spend: np.ndarray
    level: float  # the water level (lambda)
    group_levels: np.ndarray  # per group; below ``level`` where a floor binds
    floors: np.ndarray  # effective daily floors per group
    capped_floors: list[int]  # groups whose floor exceeded their capacity (capped)


def _solve(
    clipped: Clipped,
    lo: np.ndarray,
    hi: np.ndarray,
    groups: np.ndarray,
    floors: np.ndarray,
    budget: float,
    min_level: float,
) -> _Solution:
    """Water-filling with per-group floors. ``clipped`` must be non-increasing in the level."""
    n_groups = len(floors)
    capacity = np.bincount(groups, weights=hi, minlength=n_groups)
    capped = [g for g in range(n_groups) if floors[g] > capacity[g] * (1 + _REL_TOL)]
    floors = np.minimum(floors, capacity)
    minimum = float(np.sum(np.maximum(np.bincount(groups, weights=lo, minlength=n_groups), floors)))
    if minimum > budget * (1 + _REL_TOL) + 1e-9:
        raise BudgetInfeasibleError(
            f"the minimums need {minimum:,.2f} a day (campaign lower bounds, held campaigns and "
            f"platform floors) but the budget is {budget:,.2f} a day"
        )

    def spend_at(level: float) -> tuple[np.ndarray, np.ndarray]:
        levels = np.full(len(lo), level)
        spend = clipped(levels)
        group_levels = np.full(n_groups, level)
        sums = np.bincount(groups, weights=spend, minlength=n_groups)
        for g in np.flatnonzero(sums < floors * (1 - _REL_TOL)):
            members = groups == g

            def group_spend(group_level: float, members: np.ndarray = members) -> np.ndarray:
                trial = levels.copy()
                trial[members] = group_level
                return clipped(trial)[members]

            # Lower this platform's level until its floor is met (bisection in log space).
            top = math.log(level) if level > 0 else 0.0
            bottom = top - 80.0
            for _ in range(100):
                mid = 0.5 * (top + bottom)
                if group_spend(math.exp(mid)).sum() >= floors[g]:
                    bottom = mid
                else:
                    top = mid
            group_levels[g] = math.exp(bottom)
            spend[members] = group_spend(group_levels[g])
        return spend, group_levels

    def total(level: float) -> float:
        return float(spend_at(level)[0].sum())

    floor_level = max(min_level, 0.0)
    if total(floor_level) <= budget * (1 + _REL_TOL):
        spend, group_levels = spend_at(floor_level)
        return _Solution(spend, floor_level, group_levels, floors, capped)

    # total(level) is non-increasing: bracket the level where it meets the budget, then bisect.
    high = max(floor_level, 1.0)
    while total(high) > budget and high < 1e300:
        high *= 16.0
    low = max(floor_level, high / 16.0) if floor_level > 0 else high / 16.0
    while total(low) < budget and low > 1e-300:
        low /= 16.0
    log_low, log_high = math.log(low), math.log(high)
    for _ in range(200):
        mid = 0.5 * (log_low + log_high)
        if total(math.exp(mid)) > budget:
            log_low = mid
        else:
            log_high = mid
        if log_high - log_low < 1e-13:
            break
    level = math.exp(log_high)
    spend, group_levels = spend_at(level)
    # Close the last floating-point gap on campaigns with room (never past a bound).
    gap = budget - float(spend.sum())
    if gap > 0:
        room = hi - spend
        interior = np.flatnonzero(room > 1e-12)
        if len(interior):
            share = room[interior] / room[interior].sum()
            spend[interior] += np.minimum(gap * share, room[interior])
    return _Solution(spend, level, group_levels, floors, capped)


def _curve_clipped(curves: list[CurveFit], lo: np.ndarray, hi: np.ndarray) -> Clipped:
    """Spend where each curve's marginal return equals its level, clipped to [lo, hi]."""
    vmax = np.array([c.vmax for c in curves])
    h = np.array([c.half_saturation for c in curves])
    k = np.array([c.hill_slope for c in curves])
    alive = (vmax > 0) & (h > 0)
    michaelis = bool(np.all(k == 1.0))

    def marginal(s: np.ndarray) -> np.ndarray:
        s = np.maximum(s, 1e-12)
        hk = h**k
        return np.where(alive, vmax * k * hk * s ** (k - 1) / (hk + s**k) ** 2, 0.0)

    def clipped(levels: np.ndarray) -> np.ndarray:
        levels = np.maximum(levels, 1e-300)
        if michaelis:  # closed form: vmax h / (h + s)^2 = level
            with np.errstate(over="ignore", invalid="ignore"):
                s = np.sqrt(np.where(alive, vmax * h, 0.0) / levels) - h
            s = np.where(alive, s, 0.0)
            return np.clip(s, lo, hi)
        # Hill k < 1: marginal is decreasing; bisect in log space within the bounds.
        out = np.where(marginal(hi) >= levels, hi, lo)
        open_ = (marginal(lo) > levels) & (marginal(hi) < levels)
        if open_.any():
            a = np.log(np.maximum(lo[open_], 1e-9))
            b = np.log(hi[open_])
            target = levels[open_]
            sub = _subset_marginal(vmax[open_], h[open_], k[open_])
            for _ in range(60):
                mid = 0.5 * (a + b)
                above = sub(np.exp(mid)) > target
                a = np.where(above, mid, a)
                b = np.where(above, b, mid)
            out[open_] = np.exp(0.5 * (a + b))
        return out

    return clipped


def _subset_marginal(vmax: np.ndarray, h: np.ndarray, k: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def marginal(s: np.ndarray) -> np.ndarray:
        hk = h**k
        return vmax * k * hk * s ** (k - 1) / (hk + s**k) ** 2

    return marginal


def _proportional_clipped(weights: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Clipped:
    """``R_i = w_i log s_i``: the water level gives s_i = w_i / level, i.e. proportional to w."""

    def clipped(levels: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            s = np.where(weights > 0, weights / np.maximum(levels, 1e-300), 0.0)
        return np.clip(s, lo, hi)

    return clipped


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


@dataclass
class _Problem:
    curves: list[CurveFit]
    current: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    platforms: list[str]
    groups: np.ndarray
    floors: np.ndarray  # daily
    budget: float  # daily


def _problem(
    curves: Mapping[CampaignKey, CurveFit],
    total_budget: float,
    current_spend: Mapping[CampaignKey, float] | None,
    bounds: BoundsConfig,
    period_days: int,
    *,
    hold_untrusted: bool,
    hold: Collection[CampaignKey] = (),
) -> _Problem:
    if period_days < 1:
        raise ValueError("period_days must be at least 1")
    if total_budget < 0 or not math.isfinite(total_budget):
        raise ValueError("total_budget must be a non-negative amount")
    ordered = [curves[k] for k in sorted(curves)]
    currencies = {c.currency for c in ordered if c.currency is not None}
    if len(currencies) > 1:
        raise ValueError(
            f"curves are in several currencies ({', '.join(sorted(currencies))}); allocate over "
            "reporting-currency amounts"
        )
    goals = {c.goal for c in ordered}
    if len(goals) > 1:
        raise ValueError("curves were fitted for different goals")
    current_spend = current_spend or {}
    current = np.array([max(float(current_spend.get(c.key, c.current_spend)), 0.0) for c in ordered])
    lo = np.empty(len(ordered))
    hi = np.empty(len(ordered))
    for i, c in enumerate(ordered):
        if c.status is FitStatus.INACTIVE or current[i] <= 0:
            lo[i] = hi[i] = 0.0
        elif c.key in hold:  # e.g. running a budget experiment around its current spend
            lo[i] = hi[i] = current[i]
        elif hold_untrusted and not c.trusted:
            lo[i] = current[i] * (1 - bounds.held_change)
            hi[i] = current[i] * (1 + bounds.held_change)
        else:
            lo[i] = current[i] * bounds.min_fraction
            hi[i] = current[i] * bounds.max_fraction
    platforms = sorted({c.platform for c in ordered} | set(bounds.platform_floors))
    index = {p: i for i, p in enumerate(platforms)}
    groups = np.array([index[c.platform] for c in ordered], dtype=np.int64)
    floors = np.array([bounds.platform_floors.get(p, 0.0) / period_days for p in platforms])
    return _Problem(ordered, current, lo, hi, platforms, groups, floors, total_budget / period_days)


def allocate_budget(
    curves: Mapping[CampaignKey, CurveFit],
    total_budget: float,
    *,
    current_spend: Mapping[CampaignKey, float] | None = None,
    bounds: BoundsConfig | None = None,
    period_days: int = 7,
    period_start: date | None = None,
    hold: Collection[CampaignKey] = (),
) -> Allocation:
    """Split ``total_budget`` (for ``period_days`` days) over the campaigns of ``curves``.

    Campaigns in ``hold`` stay at their current spend (binding ``held``), e.g. while a budget
    experiment varies them around it.

    ``current_spend`` is each campaign's current daily spend (default: the curve's own, the mean
    of its last days); bounds are relative to it. Trusted curves may move within
    [min_fraction, max_fraction] x current; untrusted ones are held (``held_change``); inactive
    ones get nothing. Raises :class:`BudgetInfeasibleError` when the minimums exceed the budget.
    """
    bounds = bounds or BoundsConfig()
    hold = frozenset(hold)
    problem = _problem(
        curves, total_budget, current_spend, bounds, period_days, hold_untrusted=True, hold=hold
    )
    ordered = problem.curves
    goal = ordered[0].goal if ordered else Goal.VALUE
    if not ordered:
        return _empty(goal, total_budget, period_days, period_start, bounds)

    min_level = bounds.min_marginal_return or 0.0
    solution = _solve(
        _curve_clipped(ordered, problem.lo, problem.hi), problem.lo, problem.hi, problem.groups,
        problem.floors, problem.budget, min_level,
    )  # fmt: skip
    spend = solution.spend
    allocated = float(spend.sum())
    unallocated = max(problem.budget - allocated, 0.0)
    tol = 1e-6 * max(problem.budget, 1.0)
    floor_binding = [
        bool(solution.group_levels[g] < solution.level * (1 - 1e-7)) for g in range(len(problem.platforms))
    ]

    campaigns: list[CampaignAllocation] = []
    extrapolated = 0
    for i, c in enumerate(ordered):
        s, lo, hi = float(spend[i]), float(problem.lo[i]), float(problem.hi[i])
        span = 1e-6 * max(hi, 1.0)
        if c.status is FitStatus.INACTIVE or problem.current[i] <= 0:
            binding = Binding.INACTIVE
        elif not c.trusted or c.key in hold:
            binding = Binding.HELD
        elif s >= hi - span:
            binding = Binding.MAX
        elif s <= lo + span:
            binding = Binding.MIN
        elif floor_binding[problem.groups[i]]:
            binding = Binding.PLATFORM_FLOOR
        else:
            binding = Binding.NONE
        low_seen, high_seen = c.spend_range
        outside = c.trusted and c.days > 0 and (s > high_seen * 1.1 or s < low_seen / 1.1)
        extrapolated += outside
        campaigns.append(
            CampaignAllocation(
                platform=c.platform,
                account_id=c.account_id,
                campaign_id=c.campaign_id,
                campaign_name=c.campaign_name,
                fit_status=c.status,
                reason=c.reason,
                current_daily=float(problem.current[i]),
                proposed_daily=s,
                min_daily=lo,
                max_daily=hi,
                binding=binding,
                expected_current=float(c.response(problem.current[i])) * period_days,
                expected_proposed=float(c.response(s)) * period_days,
                marginal_return=float(c.marginal(s)),
                extrapolated=bool(outside),
                period_days=period_days,
            )
        )

    platforms = []
    for g, name in enumerate(problem.platforms):
        members = [c for c in campaigns if c.platform == name]
        floor = bounds.platform_floors.get(name)
        platforms.append(
            PlatformAllocation(
                platform=name,
                campaigns=len(members),
                current=sum(c.current_daily for c in members) * period_days,
                proposed=sum(c.proposed_daily for c in members) * period_days,
                floor=floor,
                floor_binding=floor_binding[g] and floor is not None,
                expected_current=sum(c.expected_current for c in members),
                expected_proposed=sum(c.expected_proposed for c in members),
            )
        )

    cause, reason = Unallocated.NONE, None
    if unallocated > tol:
        at_max = all(c.binding in (Binding.MAX, Binding.HELD, Binding.INACTIVE) for c in campaigns)
        amount = unallocated * period_days
        if at_max:
            cause = Unallocated.ALL_AT_MAX
            reason = (
                f"{amount:,.2f} left: every campaign is at its maximum ({bounds.max_fraction:g}x current "
                "spend), held, or inactive; raise max_fraction or add campaigns to place it"
            )
        else:
            cause = Unallocated.BELOW_MIN_RETURN
            reason = (
                f"{amount:,.2f} left: the next unit on any campaign would return less than "
                f"min_marginal_return {bounds.min_marginal_return:g}"
            )
    else:
        unallocated = 0.0

    notes = _notes(campaigns, problem, solution, bounds, period_days, extrapolated)
    return Allocation(
        goal=goal,
        period_days=period_days,
        period_start=period_start,
        total_budget=float(total_budget),
        allocated=allocated * period_days,
        unallocated=unallocated * period_days,
        unallocated_cause=cause,
        unallocated_reason=reason,
        total_binding=cause is Unallocated.NONE and solution.level > min_level * (1 + 1e-7),
        shadow_price=solution.level if cause is Unallocated.NONE else 0.0,
        expected_outcome=sum(c.expected_proposed for c in campaigns),
        current_outcome=sum(c.expected_current for c in campaigns),
        current_spend=float(problem.current.sum()) * period_days,
        campaigns=tuple(campaigns),
        platforms=tuple(platforms),
        bounds=bounds,
        notes=notes,
    )


def _notes(
    campaigns: list[CampaignAllocation],
    problem: _Problem,
    solution: _Solution,
    bounds: BoundsConfig,
    period_days: int,
    extrapolated: int,
) -> tuple[str, ...]:
    notes = []
    held = [c for c in campaigns if c.binding is Binding.HELD]
    if held:
        notes.append(
            f"{len(held)} campaign(s) held at current spend because their curve is not trusted "
            "(thin data or poor fit); see each campaign's reason"
        )
    for g in solution.capped_floors:
        platform = problem.platforms[g]
        notes.append(
            f"platform floor for {platform} ({bounds.platform_floors[platform]:,.2f}) exceeds what its "
            f"campaigns may spend at their maximum ({solution.floors[g] * period_days:,.2f}); capped"
        )
    if extrapolated:
        notes.append(
            f"{extrapolated} campaign(s) proposed more than 10 % outside the spend range their curve "
            "was fitted on: the expected outcome there is an extrapolation"
        )
    return tuple(notes)


def _empty(
    goal: Goal, total_budget: float, period_days: int, period_start: date | None, bounds: BoundsConfig
) -> Allocation:
    return Allocation(
        goal=goal, period_days=period_days, period_start=period_start, total_budget=float(total_budget),
        allocated=0.0, unallocated=float(total_budget),
        unallocated_cause=Unallocated.ALL_AT_MAX if total_budget > 0 else Unallocated.NONE,
        unallocated_reason="no campaigns to allocate to" if total_budget > 0 else None,
        total_binding=False, shadow_price=0.0, expected_outcome=0.0, current_outcome=0.0,
        current_spend=0.0, campaigns=(), platforms=(), bounds=bounds,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Strategy comparison
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StrategyResult:
    name: str  # "current", "proportional_roas", "optimized"
    description: str
    daily: dict[CampaignKey, float]
    spend: float  # period
    expected_outcome: float  # period, on the fitted curves

    def to_dict(self, baseline: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "spend": round(self.spend, 2),
            "expected_outcome": round(self.expected_outcome, 2),
            "expected_return": round(self.expected_outcome / self.spend, 4) if self.spend > 0 else None,
        }
        if baseline is not None:
            out["uplift_vs_current"] = round(self.expected_outcome - baseline, 2)
            out["uplift_vs_current_pct"] = (
                round((self.expected_outcome / baseline - 1) * 100, 2) if baseline > 0 else None
            )
        return out


@dataclass(frozen=True)
class StrategyComparison:
    goal: Goal
    period_days: int
    total_budget: float
    strategies: tuple[StrategyResult, ...]

    def __getitem__(self, name: str) -> StrategyResult:
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        baseline = self["current"].expected_outcome
        return {
            "goal": self.goal.value,
            "period_days": self.period_days,
            "total_budget": round(self.total_budget, 2),
            "strategies": [s.to_dict(baseline) for s in self.strategies],
        }

    def to_markdown(self) -> str:
        unit = "value" if self.goal is Goal.VALUE else "conversions"
        lines = [
            f"| strategy | spend | expected {unit} | return | vs current |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in self.to_dict()["strategies"]:
            pct = row.get("uplift_vs_current_pct")
            lines.append(
                f"| {row['name']} | {row['spend']:,.2f} | {row['expected_outcome']:,.2f} | "
                f"{row['expected_return'] if row['expected_return'] is not None else '-'} | "
                f"{'-' if pct is None else f'{pct:+.2f} %'} |"
            )
        return "\n".join(lines)


def compare_strategies(
    curves: Mapping[CampaignKey, CurveFit],
    total_budget: float,
    *,
    current_spend: Mapping[CampaignKey, float] | None = None,
    bounds: BoundsConfig | None = None,
    period_days: int = 7,
    allocation: Allocation | None = None,
) -> StrategyComparison:
    """Expected outcomes (on the fitted curves) of three ways to spend ``total_budget``:

    - ``current``: the current split, scaled to the total;
    - ``proportional_roas``: the total split in proportion to each active campaign's observed
      return (ROAS, or conversions per unit for the conversions goal);
    - ``optimized``: :func:`allocate_budget` (or the ``allocation`` given).

    The two baselines obey the same campaign bounds and platform floors as the optimiser (but do
    not hold untrusted campaigns: they are rules that ignore curves), so the comparison is between
    strategies, not between feasible sets. Inactive campaigns get nothing in all three.
    """
    bounds = bounds or BoundsConfig()
    if allocation is None:
        allocation = allocate_budget(
            curves, total_budget, current_spend=current_spend, bounds=bounds, period_days=period_days
        )
    problem = _problem(curves, total_budget, current_spend, bounds, period_days, hold_untrusted=False)
    ordered = problem.curves
    goal = ordered[0].goal if ordered else Goal.VALUE
    current = {c.key: float(problem.current[i]) for i, c in enumerate(ordered)}
    returns = {c.key: c.observed_return for c in ordered}
    results = []
    for name, weights, description in (
        ("current", current, "keep the current split (scaled to the total)"),
        ("proportional_roas", returns, "split the total in proportion to each campaign's observed return"),
    ):
        split = proportional_split(
            curves, total_budget, weights, current_spend=current, bounds=bounds, period_days=period_days
        )
        spend = np.array([split.get(c.key, 0.0) for c in ordered])
        results.append(_strategy(name, description, ordered, spend, period_days))
    optimized = np.array([allocation.daily.get(c.key, 0.0) for c in ordered])
    results.append(
        _strategy(
            "optimized", "maximise expected outcome on the fitted curves", ordered, optimized, period_days
        )
    )
    return StrategyComparison(goal, period_days, float(total_budget), tuple(results))


def proportional_split(
    curves: Mapping[CampaignKey, CurveFit],
    total_budget: float,
    weights: Mapping[CampaignKey, float],
    *,
    current_spend: Mapping[CampaignKey, float] | None = None,
    bounds: BoundsConfig | None = None,
    period_days: int = 7,
) -> dict[CampaignKey, float]:
    """Daily spend per campaign in proportion to ``weights``, under the same bounds and floors as
    :func:`allocate_budget` (no holds). A rule-based baseline; inactive campaigns get nothing."""
    bounds = bounds or BoundsConfig()
    problem = _problem(curves, total_budget, current_spend, bounds, period_days, hold_untrusted=False)
    if not problem.curves:
        return {}
    w = np.array([max(float(weights.get(c.key, 0.0)), 0.0) for c in problem.curves])
    solution = _solve(
        _proportional_clipped(w, problem.lo, problem.hi), problem.lo, problem.hi, problem.groups,
        problem.floors, problem.budget, 0.0,
    )  # fmt: skip
    return {c.key: float(s) for c, s in zip(problem.curves, solution.spend, strict=True)}


def _strategy(
    name: str, description: str, curves: list[CurveFit], spend: np.ndarray, period_days: int
) -> StrategyResult:
    outcome = sum(float(c.response(s)) for c, s in zip(curves, spend, strict=True)) * period_days
    return StrategyResult(
        name=name,
        description=description,
        daily={c.key: float(s) for c, s in zip(curves, spend, strict=True)},
        spend=float(spend.sum()) * period_days,
        expected_outcome=outcome,
    )


__all__ = [
    "Allocation",
    "Binding",
    "BoundsConfig",
    "BudgetInfeasibleError",
    "CampaignAllocation",
    "PlatformAllocation",
    "StrategyComparison",
    "StrategyResult",
    "Unallocated",
    "allocate_budget",
    "compare_strategies",
    "proportional_split",
]
