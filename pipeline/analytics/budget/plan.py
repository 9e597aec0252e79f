"""From the marts to one budget allocation: eligibility, curves, the split, lines and proposals (pure).

The Dagster asset ``app/budget_allocations`` reads the marts, calls :func:`plan_allocation` and
stores the result; everything it decides is here, testable without Dagster or a database.

- Training window: the ``lookback_days`` (default 90) complete days before ``as_of``; curves are
  fitted in the reporting currency (``*_reporting`` columns), so campaigns in different account
  currencies compete on one scale.
- Signal health: an account is excluded (its campaigns keep their budgets, treatment
  ``excluded_signal_health``) when any day of the training window is ``unhealthy``, when its latest
  scored day is not ``healthy``, or when more than ``max_degraded_share`` of its scored days are
  ``degraded``. Accounts without health rows are allocated and marked ``unknown``.
- Total: ``total_budget`` for the period, or by default the current daily spend of the eligible
  campaigns times ``period_days``: the same money, reallocated.
- Lines are in each campaign's account currency: ``recommended_daily_budget`` is the daily budget to
  set. When the campaign has a daily budget it is scaled by proposed / current spend (delivery
  follows the budget; spend sits below it), otherwise it is the proposed spend itself.
- Proposals: a REALLOCATE for each trusted campaign whose budget would change by at least
  ``min_change`` (default 10 %) and that has a daily budget to change.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analytics.actions import ActionProposal
from pipeline.analytics.budget.account_health import AccountHealth, AccountKey, assess_account_health
from pipeline.analytics.budget.allocation import (
    Allocation,
    BoundsConfig,
    BudgetInfeasibleError,
    CampaignAllocation,
    StrategyComparison,
    allocate_budget,
    compare_strategies,
)
from pipeline.analytics.budget.curves import (
    CampaignKey,
    CurveConfig,
    CurveFit,
    FitStatus,
    Goal,
    fit_response_curves,
)
from pipeline.analytics.budget.successive import guard_allocation
from pipeline.analytics.budget.uncertainty import AllocationInterval, allocation_interval

TREATMENTS = {
    FitStatus.OK: "fitted",
    FitStatus.THIN_DATA: "conservative_thin_data",
    FitStatus.POOR_FIT: "held_poor_fit",
    FitStatus.INACTIVE: "inactive",
}
EXCLUDED_TREATMENT = "excluded_signal_health"


@dataclass(frozen=True)
class AllocationSettings:
    """What the allocation asset does; :meth:`from_env` reads ``ADSIGNAL_ALLOCATION_*``."""

    period_days: int = 7
    total_budget: float | None = None  # period amount in the reporting currency; None: current spend
    objective: Goal = Goal.VALUE
    lookback_days: int = 90
    min_change: float = 0.10
    min_fraction: float = 0.5
    max_fraction: float = 1.5
    max_degraded_share: float = 0.10
    max_step: float | None = None  # successive allocation: move at most this much per run (common fraction)

    def __post_init__(self) -> None:
        if not 1 <= self.period_days <= 92:
            raise ValueError("ADSIGNAL_ALLOCATION_PERIOD_DAYS must be between 1 and 92")
        if self.total_budget is not None and not (
            self.total_budget >= 0 and math.isfinite(self.total_budget)
        ):
            raise ValueError("ADSIGNAL_ALLOCATION_TOTAL_BUDGET must be a non-negative amount")
        if not 28 <= self.lookback_days <= 365:
            raise ValueError("ADSIGNAL_ALLOCATION_LOOKBACK_DAYS must be between 28 and 365")
        if not 0 <= self.min_change < 1:
            raise ValueError("ADSIGNAL_ALLOCATION_MIN_CHANGE must be in [0, 1)")
        if self.max_step is not None and not 0 < self.max_step <= 1:
            raise ValueError("ADSIGNAL_ALLOCATION_MAX_STEP must be in (0, 1]")
        if not 0 <= self.max_degraded_share <= 1:
            raise ValueError("max_degraded_share must be in [0, 1]")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AllocationSettings:
        env = os.environ if env is None else env

        def number(name: str, default: float | None) -> float | None:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number, not {raw!r}") from None

        objective = env.get("ADSIGNAL_ALLOCATION_OBJECTIVE", "").strip().lower() or Goal.VALUE.value
        if objective not in {g.value for g in Goal}:
            raise ValueError(
                f"ADSIGNAL_ALLOCATION_OBJECTIVE must be 'value' or 'conversions', not {objective!r}"
            )
        defaults = cls()
        return cls(
            period_days=int(number("ADSIGNAL_ALLOCATION_PERIOD_DAYS", defaults.period_days) or 0),
            total_budget=number("ADSIGNAL_ALLOCATION_TOTAL_BUDGET", None),
            objective=Goal(objective),
            lookback_days=int(number("ADSIGNAL_ALLOCATION_LOOKBACK_DAYS", defaults.lookback_days) or 0),
            min_change=float(number("ADSIGNAL_ALLOCATION_MIN_CHANGE", defaults.min_change) or 0.0),
            min_fraction=float(number("ADSIGNAL_ALLOCATION_MIN_FRACTION", defaults.min_fraction) or 0.0),
            max_fraction=float(number("ADSIGNAL_ALLOCATION_MAX_FRACTION", defaults.max_fraction) or 0.0),
            max_step=number("ADSIGNAL_ALLOCATION_MAX_STEP", None),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "period_days": self.period_days,
            "total_budget": self.total_budget,
            "objective": self.objective.value,
            "lookback_days": self.lookback_days,
            "min_change": self.min_change,
            "min_fraction": self.min_fraction,
            "max_fraction": self.max_fraction,
            "max_degraded_share": self.max_degraded_share,
            "max_step": self.max_step,
        }


@dataclass(frozen=True)
class AllocationLine:
    """One campaign's line: amounts in its account currency unless named ``*_reporting``."""

    platform: str
    account_id: str
    campaign_id: str
    campaign_name: str
    currency: str | None  # account currency
    fx_rate: float  # reporting-currency units per account-currency unit
    current_daily_spend: float
    current_daily_budget: float | None  # from dim_campaigns (daily budgets only)
    recommended_daily_budget: float
    min_daily_budget: float | None
    max_daily_budget: float | None
    current_daily_spend_reporting: float
    recommended_daily_spend_reporting: float
    expected_value: float | None  # period outcome at the recommendation (objective unit; reporting ccy)
    current_value: float | None  # period outcome at current spend
    fit_quality: float | None  # 1 - holdout MAPE, clipped to [0, 1]
    treatment: str
    binding: str | None
    change: float | None  # recommended / current - 1
    reason: str | None
    fit: Mapping[str, Any] = field(default_factory=dict)
    propose: bool = False
    not_proposed_reason: str | None = None

    @property
    def key(self) -> CampaignKey:
        return (self.platform, self.account_id, self.campaign_id)


@dataclass(frozen=True)
class AllocationPlan:
    as_of: date
    training_since: date
    training_until: date
    period_start: date
    period_end: date
    settings: AllocationSettings
    currency: str  # reporting currency
    total_budget: float
    allocation: Allocation | None
    comparison: StrategyComparison | None
    curves: Mapping[CampaignKey, CurveFit]
    lines: tuple[AllocationLine, ...]
    health: Mapping[AccountKey, AccountHealth]
    interval: AllocationInterval | None = None  # of the period's expected outcome (posterior draws)

    @property
    def objective(self) -> Goal:
        return self.settings.objective

    def strategy_value(self, name: str) -> float | None:
        if self.comparison is None:
            return None
        try:
            return self.comparison[name].expected_outcome
        except KeyError:
            return None

    def platform_amounts(self) -> dict[str, float]:
        """The seed's ``allocations``: proposed period amount per platform (reporting currency)."""
        if self.allocation is None:
            return {}
        return {p.platform: round(p.proposed, 2) for p in self.allocation.platforms}

    def signal_health(self) -> dict[str, Any]:
        excluded = [h for h in self.health.values() if h.excluded]
        return {
            "rule": (
                "excluded when any training day is unhealthy, the latest day is not healthy, or more than "
                f"{self.settings.max_degraded_share:.0%} of the days are degraded"
            ),
            "accounts": [h.to_dict() for h in self.health.values()],
            "excluded_accounts": [f"{h.platform}/{h.account_id}" for h in excluded],
            "excluded_campaigns": sum(1 for line in self.lines if line.treatment == EXCLUDED_TREATMENT),
        }

    def fit_summary(self) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for c in self.curves.values():
            statuses[c.status.value] = statuses.get(c.status.value, 0) + 1
        mapes = [c.mape_holdout for c in self.curves.values() if c.trusted and c.mape_holdout is not None]
        prior = next((c.prior for c in self.curves.values() if c.prior is not None), None)
        return {
            "as_of": self.as_of.isoformat(),
            "training_window": [self.training_since.isoformat(), self.training_until.isoformat()],
            "curves": statuses,
            "median_holdout_mape": None if not mapes else round(float(np.median(mapes)), 4),
            "elasticity_prior": None if prior is None else [round(p, 4) for p in prior],
            "uncertainty": None if self.interval is None else self.interval.to_dict(),
            "settings": self.settings.to_dict(),
            "notes": [] if self.allocation is None else list(self.allocation.notes),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "platforms": [] if self.allocation is None else [p.to_dict() for p in self.allocation.platforms],
        }

    def binding_constraints(self) -> dict[str, Any]:
        return {} if self.allocation is None else self.allocation.binding_constraints()

    def unallocated(self) -> tuple[float, str | None]:
        if self.allocation is None:
            return (
                self.total_budget,
                "no eligible campaigns to allocate to" if self.total_budget > 0 else None,
            )
        return (self.allocation.unallocated, self.allocation.unallocated_reason)

    def proposals(self, allocation_id: int) -> list[ActionProposal]:
        """REALLOCATE proposals for the lines marked ``propose`` (guardrails run when they are queued)."""
        out = []
        unit = "conversion value" if self.objective is Goal.VALUE else "conversions"
        for line in self.lines:
            if not line.propose:
                continue
            assert line.current_daily_budget is not None and line.change is not None
            direction = "raise" if line.change > 0 else "lower"
            out.append(
                ActionProposal(
                    action_type="REALLOCATE",
                    source="allocation",
                    source_ref=f"allocation:{allocation_id}",
                    platform=line.platform,
                    account_id=line.account_id,
                    campaign_id=line.campaign_id,
                    campaign_name=line.campaign_name,
                    new_daily_budget=round(line.recommended_daily_budget, 2),
                    reason=(
                        f"Budget allocation {allocation_id} for {self.period_start.isoformat()}.."
                        f"{self.period_end.isoformat()}: {direction} the daily budget by {abs(line.change):.0%} "
                        f"({line.current_daily_budget:,.2f} -> {line.recommended_daily_budget:,.2f} {line.currency}); "
                        f"expected {unit} over the period {line.current_value or 0:,.2f} -> "
                        f"{line.expected_value or 0:,.2f} {self.currency if self.objective is Goal.VALUE else ''}"
                    ).rstrip(),
                    evidence={
                        "allocation_id": allocation_id,
                        "period": [self.period_start.isoformat(), self.period_end.isoformat()],
                        "training_window": [self.training_since.isoformat(), self.training_until.isoformat()],
                        "objective": self.objective.value,
                        "reporting_currency": self.currency,
                        "current_daily_budget": line.current_daily_budget,
                        "current_daily_spend": round(line.current_daily_spend, 2),
                        "current_daily_spend_reporting": round(line.current_daily_spend_reporting, 2),
                        "recommended_daily_spend_reporting": round(line.recommended_daily_spend_reporting, 2),
                        "expected_value_current": line.current_value,
                        "expected_value_recommended": line.expected_value,
                        "binding": line.binding,
                        "curve": dict(line.fit),
                        "signal_health": self.health[(line.platform, line.account_id)].to_dict(),
                    },
                )
            )
        return out


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _budgets_by_campaign(campaigns: pd.DataFrame | None) -> dict[CampaignKey, float]:
    """Daily budgets (account currency) of campaigns budgeted per day."""
    if campaigns is None or campaigns.empty:
        return {}
    out: dict[CampaignKey, float] = {}
    for row in campaigns.to_dict("records"):
        budget = row.get("daily_budget")
        kind = str(row.get("budget_type") or "DAILY").upper()
        if kind != "DAILY" or budget is None or pd.isna(budget) or float(budget) <= 0:
            continue
        out[(str(row["platform"]), str(row["account_id"]), str(row["campaign_id"]))] = float(budget)
    return out


def plan_allocation(
    campaign_daily: pd.DataFrame,
    *,
    as_of: date,
    campaigns: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
    settings: AllocationSettings | None = None,
    reporting_currency: str = "USD",
    hold: Collection[CampaignKey] = (),
) -> AllocationPlan:
    """Plan the allocation for ``period_days`` from ``as_of`` on the days before ``as_of``.

    ``campaign_daily``: ``marts.fct_campaign_performance_daily`` rows (date_day, platform, account_id,
    campaign_id, campaign_name, currency, fx_rate, spend_reporting, conversions,
    conversion_value_reporting). ``campaigns``: ``marts.dim_campaigns`` (daily_budget, budget_type).
    ``health``: ``marts.fct_signal_health_daily`` (date_day, platform, account_id, status, health_score).
    ``hold``: campaigns kept at their current spend and not proposed (a budget experiment is running).
    Raises ``ValueError`` when a configured total cannot cover the campaigns' minimums.
    """
    settings = settings or AllocationSettings()
    training_since = as_of - timedelta(days=settings.lookback_days)
    training_until = as_of - timedelta(days=1)
    period_start = as_of
    period_end = as_of + timedelta(days=settings.period_days - 1)
    required = ["date_day", "platform", "account_id", "campaign_id", "campaign_name", "currency", "fx_rate",
                "spend_reporting", "conversions", "conversion_value_reporting"]  # fmt: skip
    missing = [c for c in required if c not in campaign_daily.columns]
    if missing:
        raise ValueError(f"campaign_daily is missing columns: {', '.join(missing)}")
    data = campaign_daily[
        (campaign_daily["date_day"] >= training_since) & (campaign_daily["date_day"] <= training_until)
    ].copy()
    for column in ("fx_rate", "spend_reporting", "conversions", "conversion_value_reporting"):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
    if data["fx_rate"].isna().any() or (data["fx_rate"] <= 0).any():
        raise ValueError("campaign_daily has rows without a positive fx_rate (no rate for their currency)")

    accounts = sorted({(str(p), str(a)) for p, a in zip(data["platform"], data["account_id"], strict=True)})
    health_by_account = assess_account_health(
        health, accounts, training_since, training_until, settings.max_degraded_share
    )
    excluded = {k for k, h in health_by_account.items() if h.excluded}
    account_key = list(zip(data["platform"].astype(str), data["account_id"].astype(str), strict=True))
    is_excluded = np.array([k in excluded for k in account_key], dtype=bool)

    latest = data.sort_values("date_day").groupby(["platform", "account_id", "campaign_id"]).last()
    fx = {(str(k[0]), str(k[1]), str(k[2])): float(v) for k, v in latest["fx_rate"].items()}
    account_currency = {(str(k[0]), str(k[1]), str(k[2])): v for k, v in latest["currency"].items()}
    budgets = _budgets_by_campaign(campaigns)

    curve_frame = data[~is_excluded].drop(columns=["spend", "conversion_value"], errors="ignore").rename(
        columns={"spend_reporting": "spend", "conversion_value_reporting": "conversion_value"}
    )[["date_day", "platform", "account_id", "campaign_id", "campaign_name", "spend", "conversions",
       "conversion_value"]]  # fmt: skip
    curve_frame = curve_frame.assign(currency=reporting_currency)
    config = CurveConfig(lookback_days=settings.lookback_days)
    curves = (
        fit_response_curves(curve_frame, goal=settings.objective, config=config, as_of=as_of)
        if not curve_frame.empty
        else {}
    )
    bounds = BoundsConfig(min_fraction=settings.min_fraction, max_fraction=settings.max_fraction)
    eligible_spend = sum(c.current_spend for c in curves.values() if c.status is not FitStatus.INACTIVE)
    total = (
        settings.total_budget if settings.total_budget is not None else eligible_spend * settings.period_days
    )

    allocation: Allocation | None = None
    comparison: StrategyComparison | None = None
    interval: AllocationInterval | None = None
    if curves:
        try:
            allocation = allocate_budget(
                curves, total, bounds=bounds, period_days=settings.period_days, period_start=period_start,
                hold=[k for k in hold if k in curves],
            )  # fmt: skip
        except BudgetInfeasibleError as error:
            raise ValueError(
                f"ADSIGNAL_ALLOCATION_TOTAL_BUDGET {total:,.2f} {reporting_currency} cannot be allocated: {error}"
            ) from error
        if settings.max_step is not None:
            allocation = guard_allocation(allocation, curves, settings.max_step)
        comparison = compare_strategies(
            curves, total, bounds=bounds, period_days=settings.period_days, allocation=allocation
        )
        interval = allocation_interval(
            curves, allocation.daily, {c.key: c.current_daily for c in allocation.campaigns},
            period_days=settings.period_days,
        )  # fmt: skip

    lines: list[AllocationLine] = []
    detail = {} if allocation is None else {c.key: c for c in allocation.campaigns}
    for key, curve in sorted(curves.items()):
        lines.append(
            _line(
                curve,
                detail.get(key),
                fx[key],
                account_currency[key],
                budgets.get(key),
                settings,
                health_by_account,
            )
        )
    lines = [
        replace(line, propose=False, not_proposed_reason="budget experiment running; held at its schedule")
        if line.key in hold
        else line
        for line in lines
    ]
    lines.extend(_excluded_lines(data[is_excluded], as_of, fx, account_currency, budgets, health_by_account))
    return AllocationPlan(
        as_of=as_of,
        training_since=training_since,
        training_until=training_until,
        period_start=period_start,
        period_end=period_end,
        settings=settings,
        currency=reporting_currency,
        total_budget=float(total),
        allocation=allocation,
        comparison=comparison,
        curves=curves,
        lines=tuple(lines),
        health=health_by_account,
        interval=interval,
    )


def _line(
    curve: CurveFit,
    detail: CampaignAllocation | None,
    fx: float,
    currency: str | None,
    budget: float | None,
    settings: AllocationSettings,
    health: Mapping[AccountKey, AccountHealth],
) -> AllocationLine:
    current_r = detail.current_daily if detail is not None else curve.current_spend
    proposed_r = detail.proposed_daily if detail is not None else current_r
    ratio = proposed_r / current_r if current_r > 0 else None
    # Budget terms: a daily budget is scaled like the spend it buys; without one, the spend is the budget.
    per_spend = budget / (current_r / fx) if budget is not None and current_r > 0 else 1.0
    recommended = budget * ratio if budget is not None and ratio is not None else proposed_r / fx
    fit_quality = None if curve.mape_holdout is None else max(0.0, min(1.0, 1.0 - curve.mape_holdout))
    change = None if ratio is None else ratio - 1.0
    propose, why_not = False, None
    if not curve.trusted:
        why_not = curve.reason or f"curve {curve.status.value}"
    elif change is None or abs(change) < settings.min_change:
        why_not = f"change below {settings.min_change:.0%}"
    elif budget is None:
        why_not = "no daily budget on the campaign (lifetime or ad-group budgets): not proposed"
    else:
        propose = True
    account = health[(curve.platform, curve.account_id)]
    fit = curve.to_dict()
    fit["signal_health"] = account.status
    return AllocationLine(
        platform=curve.platform,
        account_id=curve.account_id,
        campaign_id=curve.campaign_id,
        campaign_name=curve.campaign_name,
        currency=currency,
        fx_rate=fx,
        current_daily_spend=current_r / fx,
        current_daily_budget=budget,
        recommended_daily_budget=recommended,
        min_daily_budget=None if detail is None else detail.min_daily / fx * per_spend,
        max_daily_budget=None if detail is None else detail.max_daily / fx * per_spend,
        current_daily_spend_reporting=current_r,
        recommended_daily_spend_reporting=proposed_r,
        expected_value=None if detail is None else _round(detail.expected_proposed),
        current_value=None if detail is None else _round(detail.expected_current),
        fit_quality=_round(fit_quality, 4),
        treatment=TREATMENTS[curve.status],
        binding=None if detail is None else detail.binding.value,
        change=_round(change, 4),
        reason=curve.reason,
        fit=fit,
        propose=propose,
        not_proposed_reason=why_not,
    )


def _excluded_lines(
    rows: pd.DataFrame,
    as_of: date,
    fx: Mapping[CampaignKey, float],
    currency: Mapping[CampaignKey, str | None],
    budgets: Mapping[CampaignKey, float],
    health: Mapping[AccountKey, AccountHealth],
) -> list[AllocationLine]:
    """Campaigns of excluded accounts: kept at their current spend, with the health reason."""
    if rows.empty:
        return []
    recent = rows[rows["date_day"] >= as_of - timedelta(days=CurveConfig().current_window_days)]
    out = []
    for key, group in rows.groupby(["platform", "account_id", "campaign_id"], sort=True):
        key = (str(key[0]), str(key[1]), str(key[2]))
        mine = recent[
            (recent["platform"] == key[0])
            & (recent["account_id"] == key[1])
            & (recent["campaign_id"] == key[2])
        ]
        days = max(recent["date_day"].nunique(), 1)
        current_r = float(mine["spend_reporting"].sum()) / days
        budget = budgets.get(key)
        account = health[(key[0], key[1])]
        out.append(
            AllocationLine(
                platform=key[0],
                account_id=key[1],
                campaign_id=key[2],
                campaign_name=str(group["campaign_name"].iloc[-1]),
                currency=currency[key],
                fx_rate=fx[key],
                current_daily_spend=current_r / fx[key],
                current_daily_budget=budget,
                recommended_daily_budget=budget if budget is not None else current_r / fx[key],
                min_daily_budget=None,
                max_daily_budget=None,
                current_daily_spend_reporting=current_r,
                recommended_daily_spend_reporting=current_r,
                expected_value=None,
                current_value=None,
                fit_quality=None,
                treatment=EXCLUDED_TREATMENT,
                binding="held",
                change=0.0,
                reason=account.reason,
                fit={"signal_health": account.to_dict()},
                propose=False,
                not_proposed_reason=account.reason,
            )
        )
    return out


__all__ = [
    "EXCLUDED_TREATMENT",
    "AccountHealth",
    "AllocationLine",
    "AllocationPlan",
    "AllocationSettings",
    "assess_account_health",
    "plan_allocation",
]
