"""Guardrails: the checks every action passes before it is queued and again before it is executed.

Pure functions over a proposal and its context (no database, no HTTP): the caller gathers the context
(``pipeline.warehouse.actions_store`` from the marts at proposal time, the platform's own answer at
execution time) and records each check's outcome. No model output, rule or person bypasses them: the
queue's only way in (``propose_actions``) and the executor both call :func:`evaluate`.

Checks (names as recorded in ``app.actions_queue.guardrails``):

========================  ===========================================================================
``campaign_known``        the campaign exists (in ``marts.dim_campaigns`` / on the platform)
``status_transition``     PAUSE only an ACTIVE campaign, RESUME only a PAUSED one; budget changes only
                          on an ACTIVE or PAUSED campaign (never ARCHIVED / REMOVED)
``daily_budget``          a budget change needs a campaign-level daily budget (not lifetime, shared or
                          ad-group budgets) and a known current amount
``budget_floor``          the new daily budget is at least ``min_daily_budget`` (never below; blocked)
``max_change_per_action`` |new - current| / current at most ``max_change_pct``; larger changes are
                          clamped to the limit (``clamp_budget_changes``, default) or blocked
``max_change_per_day``    the campaign's cumulative change over the last 24 h, from its budget before
                          the first change in that window, at most ``max_daily_change_pct``; clamped
                          or blocked likewise
``no_op``                 the change changes something (a budget equal to the current one is blocked)
``cooldown``              no executed change of the campaign in the last ``cooldown_hours``, and no other
                          action of the campaign approved or executing (one change in flight at a time)
``minimum_data``          at least ``min_data_days`` days with spend in the last ``data_lookback_days``
``signal_health``         the account's signal health over the last ``health_lookback_days`` scored days
                          is healthy: unhealthy (and degraded, with ``block_on_degraded``) blocks; no
                          health facts at all blocks too (nothing says the data is trustworthy)
========================  ===========================================================================

Clamping, not blocking, is the default for a too-large budget change: the direction of a proposal is
usually right and its size the uncertain part, so the largest allowed step is queued, with the requested
amount kept next to it (``requested_daily_budget``) and the check recorded as ``clamped``. A clamp that
would land below the floor or on the current budget blocks instead.

Settings come from :class:`GuardrailSettings` (defaults below), overridable with environment variables
``ADSIGNAL_GUARDRAIL_<FIELD>`` (e.g. ``ADSIGNAL_GUARDRAIL_MAX_CHANGE_PCT=20``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any, Literal

Outcome = Literal["passed", "clamped", "blocked"]
Stage = Literal["propose", "execute"]

BUDGET_ACTIONS = frozenset({"BUDGET_CHANGE", "REALLOCATE", "BUDGET_EXPERIMENT"})
ENV_PREFIX = "ADSIGNAL_GUARDRAIL_"


@dataclass(frozen=True)
class GuardrailSettings:
    """Limits the guardrails enforce; every field can be set as ``ADSIGNAL_GUARDRAIL_<FIELD>``."""

    max_change_pct: float = 30.0  # one action may move a daily budget by at most this much
    max_daily_change_pct: float = 50.0  # all changes of a campaign within 24 h, cumulatively
    clamp_budget_changes: bool = True  # clamp a too-large change to the limit (False: block it)
    cooldown_hours: float = 24.0  # after an executed change, the campaign is left alone this long
    min_data_days: int = 7  # days with spend needed in the lookback before anything is changed
    data_lookback_days: int = 28
    min_daily_budget: float = 5.0  # absolute floor, in the account currency's major units
    health_lookback_days: int = 3  # the account's last scored days that must be healthy
    block_on_degraded: bool = True  # degraded (not only unhealthy) signal health blocks actions

    def __post_init__(self) -> None:
        for name in ("max_change_pct", "max_daily_change_pct"):
            value = getattr(self, name)
            if not 0 < value < 100:
                raise ValueError(f"{name} must be between 0 and 100 (a percentage), not {value}")
        if self.cooldown_hours < 0 or self.min_daily_budget < 0:
            raise ValueError("cooldown_hours and min_daily_budget cannot be negative")
        if self.min_data_days < 0 or self.data_lookback_days < 1 or self.health_lookback_days < 1:
            raise ValueError("min_data_days >= 0, data_lookback_days >= 1 and health_lookback_days >= 1")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GuardrailSettings:
        """Defaults, overridden by ``ADSIGNAL_GUARDRAIL_<FIELD>`` variables (bad values name the variable)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = environ.get(ENV_PREFIX + spec.name.upper())
            if raw is None or raw.strip() == "":
                continue
            kind = type(getattr(cls(), spec.name))
            try:
                if kind is bool:
                    if raw.strip().lower() not in ("1", "0", "true", "false", "yes", "no"):
                        raise ValueError(raw)
                    values[spec.name] = raw.strip().lower() in ("1", "true", "yes")
                else:
                    values[spec.name] = kind(raw)
            except ValueError:
                raise ValueError(
                    f"{ENV_PREFIX}{spec.name.upper()}={raw!r} is not a valid {kind.__name__}"
                ) from None
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}


@dataclass(frozen=True)
class CampaignState:
    """What is known of the campaign now (unified status ACTIVE / PAUSED / ARCHIVED / REMOVED)."""

    status: str | None
    daily_budget: float | None  # major units; None when the campaign has no campaign-level daily budget
    budget_type: str | None = None  # DAILY | LIFETIME | AD_GROUP | SHARED
    source: str = "marts.dim_campaigns"  # or "platform"


@dataclass(frozen=True)
class RecentAction:
    """Another action of the same campaign: executed ones (cooldown, change per day) or in flight."""

    action_id: int
    action_type: str
    status: str  # executed | approved | executing
    at: datetime | None  # executed_at for executed actions
    previous_daily_budget: float | None = None
    new_daily_budget: float | None = None


@dataclass(frozen=True)
class HealthDay:
    date_day: date
    status: str  # healthy | degraded | unhealthy
    health_score: float | None = None


@dataclass(frozen=True)
class GuardrailContext:
    now: datetime
    campaign: CampaignState | None
    days_with_spend: int
    health: Sequence[HealthDay] = ()
    recent_actions: Sequence[RecentAction] = ()
    stage: Stage = "propose"


@dataclass(frozen=True)
class GuardrailCheck:
    name: str
    outcome: Outcome
    detail: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self, stage: Stage) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "detail": self.detail,
            "values": dict(self.values),
            "stage": stage,
        }


@dataclass(frozen=True)
class GuardrailVerdict:
    checks: tuple[GuardrailCheck, ...]
    stage: Stage
    requested_daily_budget: float | None
    new_daily_budget: float | None  # what may be set: requested, or clamped

    @property
    def blocked(self) -> bool:
        return any(c.outcome == "blocked" for c in self.checks)

    @property
    def clamped(self) -> bool:
        return any(c.outcome == "clamped" for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.outcome == "blocked"]

    def as_json(self) -> list[dict[str, Any]]:
        return [c.as_json(self.stage) for c in self.checks]


def _pct(new: float, base: float) -> float:
    return round(abs(new - base) / base * 100.0, 2)


def _clamp(new: float, base: float, limit_pct: float) -> float:
    step = base * limit_pct / 100.0
    return round(min(max(new, base - step), base + step), 2)


def evaluate(
    action_type: str,
    requested_daily_budget: float | None,
    context: GuardrailContext,
    settings: GuardrailSettings | None = None,
) -> GuardrailVerdict:
    """Run every guardrail on one proposed change; the verdict says blocked or not, and the budget to set."""
    settings = settings or GuardrailSettings()
    checks: list[GuardrailCheck] = []
    campaign = context.campaign
    budget = requested_daily_budget if action_type in BUDGET_ACTIONS else None

    # -- the campaign and its status ------------------------------------------------------------------
    if campaign is None:
        checks.append(GuardrailCheck("campaign_known", "blocked", "campaign not found"))
    else:
        checks.append(
            GuardrailCheck(
                "campaign_known", "passed", f"found in {campaign.source}", {"status": campaign.status}
            )
        )
        allowed = {"PAUSE": ("ACTIVE",), "RESUME": ("PAUSED",)}.get(action_type, ("ACTIVE", "PAUSED"))
        if campaign.status in allowed:
            checks.append(
                GuardrailCheck(
                    "status_transition", "passed", f"{action_type} of a {campaign.status} campaign"
                )
            )
        else:
            checks.append(
                GuardrailCheck(
                    "status_transition",
                    "blocked",
                    f"{action_type} needs a campaign that is {' or '.join(allowed)}, this one is "
                    f"{campaign.status or 'of unknown status'}",
                    {"status": campaign.status},
                )
            )

    # -- budget checks --------------------------------------------------------------------------------
    if action_type in BUDGET_ACTIONS and campaign is not None:
        budget = _budget_checks(checks, action_type, float(requested_daily_budget or 0), context, settings)

    # -- cooldown and in-flight actions ---------------------------------------------------------------
    in_flight = [a for a in context.recent_actions if a.status in ("approved", "executing")]
    window = timedelta(hours=settings.cooldown_hours)
    executed = sorted(
        (a for a in context.recent_actions if a.status == "executed" and a.at is not None),
        key=lambda a: a.at or context.now,
    )
    recent = [a for a in executed if context.now - (a.at or context.now) < window]
    if in_flight:
        ids = ", ".join(f"#{a.action_id} ({a.status})" for a in in_flight)
        checks.append(
            GuardrailCheck(
                "cooldown",
                "blocked",
                f"another action of this campaign is in flight: {ids}; one change at a time",
                {"in_flight": [a.action_id for a in in_flight]},
            )
        )
    elif recent:
        last = recent[-1]
        assert last.at is not None
        until = last.at + window
        checks.append(
            GuardrailCheck(
                "cooldown",
                "blocked",
                f"action #{last.action_id} ({last.action_type}) changed this campaign at "
                f"{last.at:%Y-%m-%d %H:%M} UTC; cooldown of {settings.cooldown_hours:g} h until "
                f"{until:%Y-%m-%d %H:%M} UTC",
                {"last_action_id": last.action_id, "last_executed_at": last.at.isoformat()},
            )
        )
    else:
        checks.append(
            GuardrailCheck(
                "cooldown", "passed", f"no change of this campaign in the last {settings.cooldown_hours:g} h"
            )
        )

    # -- enough data ----------------------------------------------------------------------------------
    values = {"days_with_spend": context.days_with_spend, "required": settings.min_data_days}
    if context.days_with_spend >= settings.min_data_days:
        checks.append(
            GuardrailCheck(
                "minimum_data",
                "passed",
                f"{context.days_with_spend} days with spend in the last {settings.data_lookback_days}",
                values,
            )
        )
    else:
        checks.append(
            GuardrailCheck(
                "minimum_data",
                "blocked",
                f"only {context.days_with_spend} days with spend in the last {settings.data_lookback_days}, "
                f"{settings.min_data_days} needed",
                values,
            )
        )

    # -- signal health --------------------------------------------------------------------------------
    checks.append(_health_check(context.health, settings))

    return GuardrailVerdict(tuple(checks), context.stage, requested_daily_budget, budget)


def _budget_checks(
    checks: list[GuardrailCheck],
    action_type: str,
    requested: float,
    context: GuardrailContext,
    settings: GuardrailSettings,
) -> float | None:
    """Append the budget checks; return the budget that may be set (None when blocked)."""
    campaign = context.campaign
    assert campaign is not None
    current = campaign.daily_budget
    if campaign.budget_type not in (None, "DAILY") or current is None or current <= 0:
        checks.append(
            GuardrailCheck(
                "daily_budget",
                "blocked",
                f"{action_type} needs a campaign-level daily budget; this campaign's budget is "
                f"{campaign.budget_type or 'unknown'} ({current if current is not None else 'no amount'})",
                {"budget_type": campaign.budget_type, "current_daily_budget": current},
            )
        )
        return None
    checks.append(
        GuardrailCheck("daily_budget", "passed", f"current daily budget {current:g}", {"current": current})
    )
    floor = settings.min_daily_budget
    if requested < floor:
        checks.append(
            GuardrailCheck(
                "budget_floor",
                "blocked",
                f"{requested:g} is below the minimum daily budget {floor:g}",
                {"requested": requested, "floor": floor},
            )
        )
        return None
    budget = round(requested, 2)

    change = _pct(budget, current)
    values = {
        "current": current,
        "requested": budget,
        "change_pct": change,
        "limit_pct": settings.max_change_pct,
    }
    if change <= settings.max_change_pct:
        checks.append(GuardrailCheck("max_change_per_action", "passed", f"{change:g} % change", values))
    elif settings.clamp_budget_changes:
        budget = _clamp(budget, current, settings.max_change_pct)
        checks.append(
            GuardrailCheck(
                "max_change_per_action",
                "clamped",
                f"{change:g} % change exceeds {settings.max_change_pct:g} %: clamped from {requested:g} to "
                f"{budget:g}",
                {**values, "clamped_to": budget},
            )
        )
    else:
        checks.append(
            GuardrailCheck(
                "max_change_per_action",
                "blocked",
                f"{change:g} % change exceeds {settings.max_change_pct:g} %",
                values,
            )
        )
        return None

    # The day's budget changes count from the budget before the first of them (a rolling 24 h).
    day_ago = context.now - timedelta(hours=24)
    todays = sorted(
        (
            a
            for a in context.recent_actions
            if a.status == "executed"
            and a.at is not None
            and a.at > day_ago
            and a.action_type in BUDGET_ACTIONS
            and a.previous_daily_budget
        ),
        key=lambda a: a.at or context.now,
    )
    base = float(todays[0].previous_daily_budget) if todays else current  # type: ignore[arg-type]
    day_change = _pct(budget, base)
    values = {
        "day_start_budget": base,
        "new": budget,
        "change_pct": day_change,
        "limit_pct": settings.max_daily_change_pct,
    }
    if day_change <= settings.max_daily_change_pct:
        checks.append(
            GuardrailCheck("max_change_per_day", "passed", f"{day_change:g} % change within 24 h", values)
        )
    elif settings.clamp_budget_changes:
        budget = _clamp(budget, base, settings.max_daily_change_pct)
        checks.append(
            GuardrailCheck(
                "max_change_per_day",
                "clamped",
                f"{day_change:g} % change within 24 h (from {base:g}) exceeds {settings.max_daily_change_pct:g} %: "
                f"clamped to {budget:g}",
                {**values, "clamped_to": budget},
            )
        )
    else:
        checks.append(
            GuardrailCheck(
                "max_change_per_day",
                "blocked",
                f"{day_change:g} % change within 24 h (from {base:g}) exceeds {settings.max_daily_change_pct:g} %",
                values,
            )
        )
        return None

    if budget < floor:
        checks.append(
            GuardrailCheck(
                "budget_floor",
                "blocked",
                f"{budget:g} is below the minimum daily budget {floor:g}",
                {"floor": floor},
            )
        )
        return None
    checks.append(GuardrailCheck("budget_floor", "passed", f"{budget:g} >= {floor:g}", {"floor": floor}))
    if round(budget, 2) == round(current, 2):
        checks.append(
            GuardrailCheck(
                "no_op", "blocked", f"the daily budget is already {current:g}", {"current": current}
            )
        )
        return None
    # A clamp may not reverse the requested direction (it cannot: clamping keeps the sign of the step).
    checks.append(GuardrailCheck("no_op", "passed", f"{current:g} -> {budget:g}"))
    return budget


def _health_check(health: Sequence[HealthDay], settings: GuardrailSettings) -> GuardrailCheck:
    if not health:
        return GuardrailCheck(
            "signal_health",
            "blocked",
            "no signal health facts for this account: the data cannot be trusted yet",
        )
    days = sorted(health, key=lambda h: h.date_day)[-settings.health_lookback_days :]
    statuses = {h.date_day.isoformat(): h.status for h in days}
    bad = ("unhealthy", "degraded") if settings.block_on_degraded else ("unhealthy",)
    flagged = [h for h in days if h.status in bad or h.status not in ("healthy", "degraded", "unhealthy")]
    if flagged:
        listed = ", ".join(f"{h.date_day} {h.status}" for h in flagged)
        return GuardrailCheck(
            "signal_health",
            "blocked",
            f"the account's data is not healthy ({listed}): fix the data before acting on it",
            {"days": statuses},
        )
    return GuardrailCheck(
        "signal_health",
        "passed",
        f"last {len(days)} scored days: {', '.join(sorted(set(statuses.values())))}",
        {"days": statuses},
    )
