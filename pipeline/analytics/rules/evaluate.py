"""Evaluate a rule over campaign-day metrics: which entities match, with the values that made them match,
and what each of the rule's actions should do for each match.

Metrics are sums over a window of ``window_days`` days ending at the as-of day (inclusive); ratios are
computed from those sums (cpc = spend / clicks, cpm = 1000 * spend / impressions, ctr = clicks /
impressions, cpa = spend / conversions, roas = conversion_value / spend). A ratio whose denominator is
zero is undefined, and a condition on an undefined value never matches. Money is compared in the
reporting currency (``*_reporting`` columns) unless the rule says ``currency: account``; a window with a
row lacking its reporting amount (no FX rate) leaves the money metrics undefined rather than wrong.

Nothing here touches a database or a platform: the caller carries out the planned actions.
"""

from __future__ import annotations

import fnmatch
import math
import operator as op
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd

from pipeline.analytics.actions import ActionProposal
from pipeline.analytics.rules.models import (
    MONEY_METRICS,
    AdjustBudget,
    AllOf,
    AnyOf,
    ApplyLabel,
    MetricCondition,
    NotifySlack,
    NotifyWebhook,
    PauseCampaign,
    Rule,
    SendAlert,
)

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": op.gt,
    ">=": op.ge,
    "<": op.lt,
    "<=": op.le,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9),
    "!=": lambda a, b: not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9),
}
BASE_COLUMNS = ("spend", "impressions", "clicks", "conversions", "conversion_value")
CAMPAIGN_KEY = ("platform", "account_id", "campaign_id")
ACCOUNT_KEY = ("platform", "account_id")
# Campaigns in these unified statuses are not paused again or re-budgeted.
INACTIVE_STATUSES = frozenset({"PAUSED", "DELETED", "ARCHIVED", "REMOVED", "COMPLETED"})

PlannedStatus = Literal["planned", "skipped", "queued"]


@dataclass(frozen=True)
class ConditionResult:
    condition: str  # e.g. "roas over 7d < 1"
    key: str  # e.g. "roas_7d"
    metric: str
    operator: str
    value: float | None
    threshold: float
    met: bool


@dataclass(frozen=True)
class Match:
    """One entity the rule matched, with every leaf condition's value (met or not)."""

    level: str
    platform: str
    account_id: str
    campaign_id: str | None
    campaign_name: str | None
    money_currency: str | None
    window_start: date
    window_end: date
    conditions: tuple[ConditionResult, ...]
    data_health: str  # healthy / degraded / unhealthy / unknown, worst over the window
    unhealthy_days: tuple[date, ...] = ()

    @property
    def entity_id(self) -> str:
        return self.campaign_id if self.campaign_id is not None else self.account_id

    @property
    def label(self) -> str:
        if self.campaign_id is None:
            return f"account {self.platform}/{self.account_id}"
        name = f"'{self.campaign_name}' " if self.campaign_name else ""
        return f"campaign {name}({self.platform} {self.account_id}/{self.campaign_id})"

    @property
    def values(self) -> dict[str, float | None]:
        return {c.key: c.value for c in self.conditions}

    def explain(self) -> str:
        """The met conditions with their values, e.g. ``roas over 7d = 0.62 (< 1)``."""
        parts = [
            f"{c.key} = {_format(c.metric, c.value, self.money_currency, c.key.endswith('_change_pct'))}"
            f" ({c.operator} {c.threshold:g}{'%' if c.key.endswith('_change_pct') else ''})"
            for c in self.conditions
            if c.met
        ]
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "platform": self.platform,
            "account_id": self.account_id,
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "money_currency": self.money_currency,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "values": {k: _rounded(v) for k, v in self.values.items()},
            "conditions": [
                {"condition": c.condition, "value": _rounded(c.value), "met": c.met} for c in self.conditions
            ],
            "data_health": self.data_health,
            "unhealthy_days": [d.isoformat() for d in self.unhealthy_days],
        }


@dataclass(frozen=True)
class RuleAlert:
    """What ``send_alert`` writes into app.alerts (the store owns the lifecycle)."""

    alert_type: str
    severity: str
    platform: str
    account_id: str
    entity_level: str
    entity_id: str
    entity_name: str | None
    title: str
    message: str
    metric: str | None
    value: float | None
    threshold: float | None
    window_start: date
    window_end: date
    evidence: dict[str, Any]


@dataclass(frozen=True)
class PlannedAction:
    """One action for one match: ``planned`` (the store applies or proposes it), ``queued`` (a
    notification for the run's digest) or ``skipped`` (``detail`` says why)."""

    type: str
    match: Match
    status: PlannedStatus
    detail: str
    label: str | None = None
    remove_when_unmatched: bool = True
    alert: RuleAlert | None = None
    proposal: ActionProposal | None = None
    message: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class RuleEvaluation:
    rule_name: str
    as_of: date
    entities_evaluated: int
    matches: tuple[Match, ...]
    actions: tuple[PlannedAction, ...]
    notes: tuple[str, ...] = field(default=())


def evaluate_rule(
    rule: Rule,
    frame: pd.DataFrame,
    as_of: date,
    *,
    rule_id: int | None = None,
    campaigns: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
    reporting_currency: str | None = None,
) -> RuleEvaluation:
    """Evaluate ``rule`` as of ``as_of`` (the last day of every window).

    ``frame``: campaign-day rows (date_day, platform, account_id, campaign_id, campaign_name, currency,
    spend, impressions, clicks, conversions, conversion_value and, for reporting-currency rules,
    spend_reporting, conversion_value_reporting). ``campaigns``: one row per campaign (platform,
    account_id, campaign_id, status, daily_budget) for status filters, pausing and budgets.
    ``health``: account-day signal health (date_day, platform, account_id, status); where any day of the
    rule's windows is not healthy, actions that change a campaign are held (skipped with the reason).
    """
    key = CAMPAIGN_KEY if rule.level == "campaign" else ACCOUNT_KEY
    lookback_start = as_of - timedelta(days=rule.lookback_days - 1)
    rows = _in_scope(rule, frame, campaigns)
    rows = rows[(rows["date_day"] >= lookback_start) & (rows["date_day"] <= as_of)]
    entities = rows[list(key)].drop_duplicates().sort_values(list(key))
    index = pd.MultiIndex.from_frame(entities) if len(key) > 1 else pd.Index(entities[key[0]])
    notes: list[str] = []
    if rule.currency == "reporting" and any(c.metric in MONEY_METRICS for c in rule.metric_conditions()):
        missing = rows["spend_reporting"].isna() | rows["conversion_value_reporting"].isna()
        if missing.any():
            notes.append(
                f"{int(missing.sum())} campaign-day(s) lack reporting-currency amounts (no FX rate):"
                " money metrics over windows containing them are undefined"
            )

    values: dict[str, pd.Series] = {}
    for condition in rule.metric_conditions():
        if condition.key not in values:
            values[condition.key] = _condition_values(rule, condition, rows, key, index, as_of)

    matched = _evaluate(rule.conditions, values, index)
    names = _latest_names(rows, key)
    currencies = _money_currencies(rule, rows, key, reporting_currency)
    campaign_info = _campaign_info(campaigns)
    matches: list[Match] = []
    planned: list[PlannedAction] = []
    leaves = rule.metric_conditions()
    for entity in index[matched.to_numpy(dtype=bool)] if len(index) else []:
        entity_tuple = entity if isinstance(entity, tuple) else (entity,)
        fields = dict(zip(key, entity_tuple, strict=True))
        results = tuple(
            _result(c, values[c.key].get(entity)) for c in dict.fromkeys(leaves)
        )  # a repeated leaf is reported once
        health_status, bad_days = _health(
            health, fields["platform"], fields["account_id"], lookback_start, as_of
        )
        match = Match(
            level=rule.level,
            platform=fields["platform"],
            account_id=fields["account_id"],
            campaign_id=fields.get("campaign_id"),
            campaign_name=names.get(entity),
            money_currency=currencies.get(entity),
            window_start=lookback_start,
            window_end=as_of,
            conditions=results,
            data_health=health_status,
            unhealthy_days=bad_days,
        )
        matches.append(match)
        info = campaign_info.get((match.platform, match.account_id, match.campaign_id or ""), {})
        planned += [_plan(rule, rule_id, action, match, info) for action in rule.actions]
    return RuleEvaluation(
        rule_name=rule.name,
        as_of=as_of,
        entities_evaluated=len(index),
        matches=tuple(matches),
        actions=tuple(planned),
        notes=tuple(notes),
    )


# --- scope and metrics ----------------------------------------------------------------------------


def _in_scope(rule: Rule, frame: pd.DataFrame, campaigns: pd.DataFrame | None) -> pd.DataFrame:
    scope = rule.scope
    keep = pd.Series(True, index=frame.index)
    if scope.platforms is not None:
        keep &= frame["platform"].isin(scope.platforms)
    if scope.account_ids is not None:
        keep &= frame["account_id"].astype(str).isin(scope.account_ids)
    if scope.campaign_ids is not None:
        keep &= frame["campaign_id"].astype(str).isin(scope.campaign_ids)
    names = frame["campaign_name"].fillna("").astype(str).str.lower()
    if scope.campaign_names is not None:
        patterns = [p.lower() for p in scope.campaign_names]
        keep &= names.map(lambda n: any(fnmatch.fnmatchcase(n, p) for p in patterns))
    if scope.exclude_campaign_names is not None:
        patterns = [p.lower() for p in scope.exclude_campaign_names]
        keep &= ~names.map(lambda n: any(fnmatch.fnmatchcase(n, p) for p in patterns))
    if scope.statuses is not None:
        status = _campaign_statuses(frame, campaigns)
        keep &= status.isin(scope.statuses)
    return frame[keep]


def _campaign_statuses(frame: pd.DataFrame, campaigns: pd.DataFrame | None) -> pd.Series:
    if campaigns is None or campaigns.empty:
        return pd.Series(None, index=frame.index, dtype=object)
    lookup = campaigns.drop_duplicates(list(CAMPAIGN_KEY)).set_index(list(CAMPAIGN_KEY))["status"]
    keys = pd.MultiIndex.from_frame(frame[list(CAMPAIGN_KEY)])
    return pd.Series(lookup.reindex(keys).to_numpy(), index=frame.index).fillna("").str.upper()


def _window_sums(
    rule: Rule, rows: pd.DataFrame, key: tuple[str, ...], index: pd.Index, first: date, last: date
) -> pd.DataFrame:
    window = rows[(rows["date_day"] >= first) & (rows["date_day"] <= last)]
    money = (
        {"spend": "spend_reporting", "conversion_value": "conversion_value_reporting"}
        if rule.currency == "reporting"
        else {"spend": "spend", "conversion_value": "conversion_value"}
    )
    grouped = window.groupby(list(key), sort=False)
    sizes = grouped.size()
    sums = {}
    for name in BASE_COLUMNS:
        column = money.get(name, name)
        total = grouped[column].sum()
        # A missing amount (no FX rate) makes the window's sum undefined, not smaller.
        sums[name] = total.where(grouped[column].count() == sizes) if name in money else total
    frame = pd.DataFrame(sums, columns=list(BASE_COLUMNS))
    if len(key) == 1:
        frame.index = frame.index.get_level_values(0)
    delivered = index.isin(frame.index)
    frame = frame.reindex(index)
    # Entities without rows in this window delivered nothing in it.
    frame.loc[~delivered, :] = 0.0
    return frame.astype(float)


def _metric(metric: str, sums: pd.DataFrame) -> pd.Series:
    def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
        return numerator / denominator.where(denominator != 0)

    if metric in BASE_COLUMNS:
        return sums[metric]
    return {
        "cpc": lambda: ratio(sums["spend"], sums["clicks"]),
        "cpm": lambda: ratio(sums["spend"] * 1000.0, sums["impressions"]),
        "ctr": lambda: ratio(sums["clicks"], sums["impressions"]),
        "cpa": lambda: ratio(sums["spend"], sums["conversions"]),
        "roas": lambda: ratio(sums["conversion_value"], sums["spend"]),
    }[metric]()


def _condition_values(
    rule: Rule,
    condition: MetricCondition,
    rows: pd.DataFrame,
    key: tuple[str, ...],
    index: pd.Index,
    as_of: date,
) -> pd.Series:
    width = timedelta(days=condition.window_days)
    current = _metric(
        condition.metric, _window_sums(rule, rows, key, index, as_of - width + timedelta(days=1), as_of)
    )
    if not condition.change_vs_previous_window:
        return current
    prev_last = as_of - width
    previous = _metric(
        condition.metric,
        _window_sums(rule, rows, key, index, prev_last - width + timedelta(days=1), prev_last),
    )
    return (current - previous) / previous.abs().where(previous != 0) * 100.0


def _evaluate(
    node: MetricCondition | AllOf | AnyOf, values: Mapping[str, pd.Series], index: pd.Index
) -> pd.Series:
    if isinstance(node, MetricCondition):
        series = values[node.key]
        compare = COMPARE[node.operator]
        return series.map(lambda v: bool(v == v and v is not None and compare(float(v), node.value))).astype(
            bool
        )
    children = [
        _evaluate(child, values, index) for child in (node.all if isinstance(node, AllOf) else node.any)
    ]
    combined = pd.Series(isinstance(node, AllOf), index=index, dtype=bool)
    for child in children:
        combined = (combined & child) if isinstance(node, AllOf) else (combined | child)
    return combined


def _result(condition: MetricCondition, value: Any) -> ConditionResult:
    number = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    met = number is not None and COMPARE[condition.operator](number, condition.value)
    return ConditionResult(
        condition=condition.describe(),
        key=condition.key,
        metric=condition.metric,
        operator=condition.operator,
        value=number,
        threshold=condition.value,
        met=met,
    )


def _latest_names(rows: pd.DataFrame, key: tuple[str, ...]) -> dict[Any, str | None]:
    if "campaign_id" not in key or rows.empty:
        return {}
    latest = rows.sort_values("date_day").groupby(list(key), sort=False)["campaign_name"].last()
    return {k: (None if pd.isna(v) else str(v)) for k, v in latest.items()}


def _money_currencies(
    rule: Rule, rows: pd.DataFrame, key: tuple[str, ...], reporting_currency: str | None
) -> dict[Any, str | None]:
    if rows.empty:
        return {}
    if rule.currency == "reporting":
        column = "reporting_currency" if "reporting_currency" in rows.columns else None
        if column is None:
            return dict.fromkeys(rows.groupby(list(key), sort=False).size().index, reporting_currency)
        latest = rows.groupby(list(key), sort=False)[column].last()
        return {k: (reporting_currency if pd.isna(v) else str(v)) for k, v in latest.items()}
    latest = rows.groupby(list(key), sort=False)["currency"].last()
    return {k: (None if pd.isna(v) else str(v)) for k, v in latest.items()}


def _campaign_info(campaigns: pd.DataFrame | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    if campaigns is None or campaigns.empty:
        return {}
    return {
        (str(r["platform"]), str(r["account_id"]), str(r["campaign_id"])): r
        for r in campaigns.to_dict("records")
    }


def _health(
    health: pd.DataFrame | None, platform: str, account_id: str, first: date, last: date
) -> tuple[str, tuple[date, ...]]:
    if health is None or health.empty:
        return "unknown", ()
    rows = health[
        (health["platform"] == platform)
        & (health["account_id"] == account_id)
        & (health["date_day"] >= first)
        & (health["date_day"] <= last)
    ]
    if rows.empty:
        return "unknown", ()
    statuses = set(rows["status"])
    worst = next((s for s in ("unhealthy", "degraded") if s in statuses), "healthy")
    bad = tuple(sorted(rows.loc[rows["status"] != "healthy", "date_day"]))
    return worst, bad


# --- actions --------------------------------------------------------------------------------------


def _plan(
    rule: Rule, rule_id: int | None, action: Any, match: Match, info: Mapping[str, Any]
) -> PlannedAction:
    ref = f"rule:{rule_id if rule_id is not None else rule.name}"
    if isinstance(action, ApplyLabel):
        return PlannedAction(
            "apply_label",
            match,
            "planned",
            f"label '{action.label}'",
            label=action.label,
            remove_when_unmatched=action.remove_when_unmatched,
        )
    if isinstance(action, SendAlert):
        alert = _alert(rule, rule_id, action, match)
        return PlannedAction(
            "send_alert", match, "planned", f"{alert.severity} {alert.alert_type}", alert=alert
        )
    if isinstance(action, NotifySlack | NotifyWebhook):
        text = f"Rule '{rule.name}' matched {match.label}: {match.explain()}"
        message = f"{action.message} — {text}" if action.message else text
        return PlannedAction(
            action.type, match, "queued", "queued for the run's digest", message=message, target=action.target
        )
    if isinstance(action, PauseCampaign | AdjustBudget):
        held = _hold_reason(match, info)
        if held:
            return PlannedAction(action.type, match, "skipped", held)
        reason = f"Rule '{rule.name}': {match.explain()}"
        evidence = {
            "rule_id": rule_id,
            "rule_name": rule.name,
            "as_of": match.window_end.isoformat(),
            **match.to_json(),
        }
        if isinstance(action, PauseCampaign):
            proposal = ActionProposal(
                action_type="PAUSE",
                source="rule",
                source_ref=ref,
                platform=match.platform,
                account_id=match.account_id,
                campaign_id=match.campaign_id or "",
                reason=reason,
                campaign_name=match.campaign_name,
                evidence=evidence,
            )
            return PlannedAction("pause_campaign", match, "planned", "pause", proposal=proposal)
        return _plan_budget(action, match, info, ref, reason, evidence)
    raise TypeError(f"unsupported action {action!r}")  # the models admit no other type


def _hold_reason(match: Match, info: Mapping[str, Any]) -> str | None:
    if match.data_health in ("degraded", "unhealthy"):
        days = ", ".join(d.isoformat() for d in match.unhealthy_days[:5])
        return (
            f"held: signal health of {match.platform}/{match.account_id} is {match.data_health} in the"
            f" rule's window ({days}); a data problem is not a reason to change a campaign"
        )
    status = str(info.get("status") or "").upper()
    if status in INACTIVE_STATUSES:
        return f"campaign status is {status}"
    return None


def _plan_budget(
    action: AdjustBudget,
    match: Match,
    info: Mapping[str, Any],
    ref: str,
    reason: str,
    evidence: dict[str, Any],
) -> PlannedAction:
    current = info.get("daily_budget")
    current = (
        None if current is None or (isinstance(current, float) and math.isnan(current)) else float(current)
    )
    if current is None or current <= 0:
        budget_type = info.get("budget_type") or "none known"
        return PlannedAction(
            "adjust_budget", match, "skipped", f"campaign has no daily budget (budget type {budget_type})"
        )
    target = current * (1 + action.percent / 100.0) if action.percent is not None else float(action.to or 0)
    bounded = target
    if action.min_daily_budget is not None:
        bounded = max(bounded, action.min_daily_budget)
    if action.max_daily_budget is not None:
        bounded = min(bounded, action.max_daily_budget)
    bounded = round(bounded, 2)
    currency = info.get("currency") or ""
    if abs(bounded - current) < 0.005:
        return PlannedAction(
            "adjust_budget",
            match,
            "skipped",
            f"daily budget already {current:.2f} {currency} ({action.describe()})".replace("  ", " "),
        )
    proposal = ActionProposal(
        action_type="BUDGET_CHANGE",
        source="rule",
        source_ref=ref,
        platform=match.platform,
        account_id=match.account_id,
        campaign_id=match.campaign_id or "",
        reason=f"{reason}; {action.describe()}",
        new_daily_budget=bounded,
        campaign_name=match.campaign_name,
        evidence={
            **evidence,
            "current_daily_budget": current,
            "requested_daily_budget": round(target, 2),
            "new_daily_budget": bounded,
            "budget_currency": currency or None,
            "adjustment": action.model_dump(mode="json", exclude_none=True),
        },
    )
    detail = f"daily budget {current:.2f} → {bounded:.2f} {currency}".rstrip()
    return PlannedAction("adjust_budget", match, "planned", detail, proposal=proposal)


def _alert(rule: Rule, rule_id: int | None, action: SendAlert, match: Match) -> RuleAlert:
    met = [c for c in match.conditions if c.met]
    first = met[0] if met else (match.conditions[0] if match.conditions else None)
    subject = match.campaign_name or match.entity_id
    return RuleAlert(
        # One live alert per (rule, entity): the type names the rule, the entity stays the campaign.
        alert_type=f"RULE_{rule_id if rule_id is not None else rule.name}",
        severity=action.severity,
        platform=match.platform,
        account_id=match.account_id,
        entity_level=match.level,
        entity_id=match.entity_id,
        entity_name=match.campaign_name,
        title=action.title or f"Rule '{rule.name}' matched {subject}",
        message=f"Rule '{rule.name}' matched {match.label}: {match.explain()}.",
        metric=first.metric if first else None,
        value=first.value if first else None,
        threshold=first.threshold if first else None,
        window_start=match.window_start,
        window_end=match.window_end,
        evidence={"rule_id": rule_id, "rule_name": rule.name, **match.to_json()},
    )


# --- formatting -----------------------------------------------------------------------------------


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _format(metric: str, value: float | None, currency: str | None, is_change: bool) -> str:
    if value is None:
        return "undefined"
    if is_change:
        return f"{value:+.1f}%"
    if metric in ("impressions", "clicks"):
        return f"{value:,.0f}"
    if metric == "conversions":
        return f"{value:,.1f}".removesuffix(".0")
    if metric == "ctr":
        return f"{value:.4f}"
    if metric == "roas":
        return f"{value:.2f}"
    return f"{value:,.2f}" + (f" {currency}" if currency else "")
