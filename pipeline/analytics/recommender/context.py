"""What a recommender may know: computed numbers with ids, and what each campaign may be changed to.

Both paths read the same :class:`RecommendationContext`: the deterministic recommender directly, Claude
as JSON data in its prompt. Every citable number sits in a ``fields`` mapping of an item with an ``id``
(``metric:…``, ``alert:…``, ``allocation:…``, ``rule:…``), so an answer can be checked number by number.
Names and other platform text are untrusted: they are cleaned and truncated here, and only ever shown to
a model as data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from pipeline.analytics.recommender.model import ACTIONS

HEALTH_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}


@dataclass(frozen=True)
class RecommenderConfig:
    """Bounds every recommendation must stay within, whichever path produced it."""

    # New daily budget within ±this fraction of the current one (the action queue's guardrails apply after).
    max_budget_change: float = 0.3
    # A reallocation smaller than this fraction of the current budget is not worth a change.
    min_allocation_change: float = 0.1
    # Campaigns in the context: the largest by 28-day spend, plus any an alert, allocation or rule names.
    max_campaigns: int = 50
    max_alerts: int = 50
    max_recommendations: int = 25
    name_max_chars: int = 80
    # Cited numbers match the context within max(abs, rel * |value|).
    cite_abs_tolerance: float = 0.01
    cite_rel_tolerance: float = 0.005
    # An account's worst signal health over its last days decides whether its campaigns may be changed
    # (the action queue's guardrail looks at the same days).
    health_days: int = 3
    # Days of data before and after an executed recommendation that its measured effect compares.
    measure_days: int = 7


@dataclass(frozen=True)
class CampaignFacts:
    """One campaign's 7- and 28-day metrics, state and what may be done to it."""

    id: str
    platform: str
    account_id: str
    campaign_id: str
    name: str | None
    currency: str | None
    status: str | None  # ACTIVE / PAUSED / ... from dim_campaigns; None if unknown
    health_status: str | None  # worst signal health of its account over the last health_days days
    current_daily_budget: float | None  # the campaign's daily budget (None: lifetime, shared or unknown)
    budget_min: float | None
    budget_max: float | None
    allowed_actions: tuple[str, ...]
    fields: Mapping[str, float]


@dataclass(frozen=True)
class AlertFacts:
    """A live alert from ``app.alerts`` with the numbers of its evidence."""

    id: str
    alert_id: int
    alert_type: str
    severity: str
    platform: str
    account_id: str | None
    entity_level: str
    entity_id: str
    campaign_id: str | None
    name: str | None
    metric: str | None
    window_start: str | None
    window_end: str | None
    fields: Mapping[str, float]

    @property
    def is_data_alert(self) -> bool:
        return self.alert_type.startswith("DATA_")


@dataclass(frozen=True)
class AllocationFacts:
    """One campaign's line of the latest budget allocation."""

    id: str
    allocation_id: int
    platform: str
    account_id: str
    campaign_id: str
    treatment: str | None
    binding: str | None
    fields: Mapping[str, float]


@dataclass(frozen=True)
class RuleFacts:
    """One campaign a rule matched in its latest run, with the values it matched on."""

    id: str
    rule_run_id: int
    rule_id: int
    rule_name: str | None
    platform: str
    account_id: str
    campaign_id: str
    fields: Mapping[str, float]


@dataclass(frozen=True)
class RecommendationContext:
    as_of: date
    campaigns: tuple[CampaignFacts, ...]
    alerts: tuple[AlertFacts, ...]
    allocations: tuple[AllocationFacts, ...]
    rules: tuple[RuleFacts, ...]
    config: RecommenderConfig = field(default_factory=RecommenderConfig)

    def items(self, source: str) -> Sequence[CampaignFacts | AlertFacts | AllocationFacts | RuleFacts]:
        return {
            "metric": self.campaigns,
            "alert": self.alerts,
            "allocation": self.allocations,
            "rule": self.rules,
        }[source]

    def item(
        self, source: str, item_id: str
    ) -> CampaignFacts | AlertFacts | AllocationFacts | RuleFacts | None:
        if source not in ("metric", "alert", "allocation", "rule"):
            return None
        return next((i for i in self.items(source) if i.id == item_id), None)

    def campaign(
        self, platform: str, account_id: str | None, campaign_id: str | None
    ) -> CampaignFacts | None:
        return next(
            (
                c
                for c in self.campaigns
                if (c.platform, c.account_id, c.campaign_id) == (platform, account_id, campaign_id)
            ),
            None,
        )

    def allocation_for(self, campaign: CampaignFacts) -> AllocationFacts | None:
        key = (campaign.platform, campaign.account_id, campaign.campaign_id)
        return next((a for a in self.allocations if (a.platform, a.account_id, a.campaign_id) == key), None)

    @property
    def accounts(self) -> set[tuple[str, str]]:
        known = {(c.platform, c.account_id) for c in self.campaigns}
        return known | {(a.platform, a.account_id) for a in self.alerts if a.account_id}

    @property
    def platforms(self) -> set[str]:
        return {c.platform for c in self.campaigns} | {a.platform for a in self.alerts}

    @property
    def is_empty(self) -> bool:
        return not (self.campaigns or self.alerts or self.allocations or self.rules)


# --- ids ------------------------------------------------------------------------------------------


def metric_id(platform: str, account_id: str, campaign_id: str) -> str:
    return f"metric:{platform}/{account_id}/{campaign_id}"


def alert_ref(alert_id: int) -> str:
    return f"alert:{alert_id}"


def allocation_ref(allocation_id: int, platform: str, account_id: str, campaign_id: str) -> str:
    return f"allocation:{allocation_id}/{platform}/{account_id}/{campaign_id}"


def rule_ref(rule_run_id: int, platform: str, account_id: str, campaign_id: str) -> str:
    return f"rule:{rule_run_id}/{platform}/{account_id}/{campaign_id}"


# --- untrusted text ------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


def clean_text(value: object, max_chars: int) -> str | None:
    """Platform text made safe to show: no control or invisible characters, one line, truncated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text or None


# --- numbers -------------------------------------------------------------------------------------


def _number(value: object, digits: int = 4) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round(number, digits) if math.isfinite(number) else None


def _fields(pairs: Iterable[tuple[str, object]], digits: int = 4) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in pairs:
        number = _number(value, digits)
        if number is not None:
            out[key] = number
    return out


def _safe_ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _window_metrics(rows: pd.DataFrame, days: int) -> dict[str, float | None]:
    spend = float(rows["spend"].sum())
    impressions = float(rows["impressions"].sum())
    clicks = float(rows["clicks"].sum())
    conversions = float(rows["conversions"].sum())
    value = float(rows["conversion_value"].sum())
    suffix = f"_{days}d"
    money = {
        "spend": spend,
        "conversion_value": value,
        "cpa": _safe_ratio(spend, conversions),
        "cpc": _safe_ratio(spend, clicks),
        "avg_daily_spend": spend / days,
    }
    ratios = {
        "impressions": impressions,
        "clicks": clicks,
        "conversions": conversions,
        "roas": _safe_ratio(value, spend),
        "ctr": _safe_ratio(clicks, impressions),
    }
    out: dict[str, float | None] = {
        k + suffix: (None if v is None else round(v, 2)) for k, v in money.items()
    }
    out |= {k + suffix: (None if v is None else round(v, 4)) for k, v in ratios.items()}
    out[f"days_with_data{suffix}"] = float(rows["date_day"].nunique())
    return out


# --- building ------------------------------------------------------------------------------------


def _allowed_actions(
    status: str | None, health: str | None, has_budget: bool, has_allocation: bool, writable: bool
) -> tuple[str, ...]:
    """What may be done to a campaign: nothing that changes it on data that is not healthy."""
    allowed = {"INVESTIGATE", "NO_ACTION"}
    if writable and health in (None, "healthy"):
        if status == "ACTIVE":
            allowed |= {"PAUSE"}
            if has_budget:
                allowed |= {"BUDGET_CHANGE"} | ({"REALLOCATE"} if has_allocation else set())
        elif status == "PAUSED":
            allowed |= {"RESUME"}
    return tuple(a for a in ACTIONS if a in allowed)


def _budget_bounds(
    base: float | None, line: Mapping[str, Any] | None, config: RecommenderConfig
) -> tuple[float | None, float | None]:
    """±max_budget_change around the current budget, narrowed to the allocation's bounds where they overlap."""
    if base is None or base <= 0:
        return None, None
    low, high = base * (1 - config.max_budget_change), base * (1 + config.max_budget_change)
    if line is not None:
        line_low = _number(line.get("min_daily_budget"))
        line_high = _number(line.get("max_daily_budget"))
        narrowed_low = max(low, line_low) if line_low is not None else low
        narrowed_high = min(high, line_high) if line_high is not None else high
        if narrowed_low <= narrowed_high:
            low, high = narrowed_low, narrowed_high
    return round(low, 2), round(high, 2)


def _health_by_account(health: pd.DataFrame | None, as_of: date, days: int) -> dict[tuple[str, str], str]:
    if health is None or health.empty:
        return {}
    recent = health[(health["date_day"] > as_of - timedelta(days=days)) & (health["date_day"] <= as_of)]
    worst: dict[tuple[str, str], str] = {}
    for row in recent.itertuples(index=False):
        key = (str(row.platform), str(row.account_id))
        status = str(row.status)
        if HEALTH_RANK.get(status, 0) >= HEALTH_RANK.get(worst.get(key, "healthy"), 0):
            worst[key] = status
    return worst


def _rule_fields(match: Mapping[str, Any]) -> dict[str, float]:
    nested = [v for k, v in match.items() if k in ("values", "metrics") and isinstance(v, Mapping)]
    pairs = [(str(k), v) for k, v in match.items() if not isinstance(v, Mapping | list)]
    for mapping in nested:
        pairs += [(str(k), v) for k, v in mapping.items()]
    return _fields(pairs)


def build_context(
    *,
    as_of: date,
    campaign_daily: pd.DataFrame,
    campaigns: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
    alerts: Sequence[Mapping[str, Any]] = (),
    allocation_lines: Sequence[Mapping[str, Any]] = (),
    rule_matches: Sequence[Mapping[str, Any]] = (),
    writable_platforms: Iterable[str] | None = None,
    config: RecommenderConfig | None = None,
) -> RecommendationContext:
    """Assemble the context as of ``as_of`` (the last complete day, inclusive).

    ``campaign_daily``: the campaign mart's rows (date_day, platform, account_id, campaign_id,
    campaign_name, currency, spend, impressions, clicks, conversions, conversion_value), at least the 28
    days to ``as_of``. ``campaigns``: platform, account_id, campaign_id, status, daily_budget.
    ``health``: date_day, platform, account_id, status. ``alerts``: live ``app.alerts`` rows (alert_id, …,
    evidence). ``allocation_lines``: the latest allocation's ``app.budget_allocation_lines`` rows.
    ``rule_matches``: one mapping per matched campaign with rule_run_id, rule_id, rule_name and the match.
    ``writable_platforms``: platforms whose connector can change campaigns (None: all).
    """
    config = config or RecommenderConfig()
    writable = None if writable_platforms is None else set(writable_platforms)
    frame = campaign_daily[
        (campaign_daily["date_day"] > as_of - timedelta(days=28)) & (campaign_daily["date_day"] <= as_of)
    ]
    health_by_account = _health_by_account(health, as_of, config.health_days)

    dims: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    if campaigns is not None and not campaigns.empty:
        for row in campaigns.to_dict("records"):
            dims[(str(row["platform"]), str(row["account_id"]), str(row["campaign_id"]))] = row

    lines = {
        (str(line["platform"]), str(line["account_id"]), str(line["campaign_id"])): line
        for line in allocation_lines
    }
    live_alerts = sorted(
        (a for a in alerts if a.get("status", "open") in ("open", "acknowledged")),
        key=lambda a: (-_severity_rank(a.get("severity")), int(a["alert_id"])),
    )[: config.max_alerts]

    # The campaigns worth showing: the largest spenders and every one something else points at.
    keys: list[tuple[str, str, str]] = []
    if not frame.empty:
        spend = (
            frame.groupby(["platform", "account_id", "campaign_id"])["spend"]
            .sum()
            .sort_values(ascending=False)
        )
        keys = [(str(p), str(a), str(c)) for (p, a, c), s in spend.items() if s > 0][: config.max_campaigns]
    referenced = [
        (str(a["platform"]), str(a["account_id"]), str(a["entity_id"]))
        for a in live_alerts
        if a.get("entity_level") == "campaign" and a.get("account_id")
    ]
    referenced += list(lines)
    referenced += [(str(m["platform"]), str(m["account_id"]), str(m["campaign_id"])) for m in rule_matches]
    for key in referenced:
        if key not in keys:
            keys.append(key)

    grouped = {
        (str(p), str(a), str(c)): rows
        for (p, a, c), rows in frame.groupby(["platform", "account_id", "campaign_id"])
    }
    empty = frame.iloc[0:0]
    campaign_facts: list[CampaignFacts] = []
    for key in keys:
        platform, account_id, campaign_id = key
        rows = grouped.get(key, empty)
        last7 = rows[rows["date_day"] > as_of - timedelta(days=7)]
        metrics = _window_metrics(last7, 7) | _window_metrics(rows, 28)
        dim = dims.get(key, {})
        # Budgets change only where the campaign has a daily budget of its own (not lifetime or shared).
        daily_budget = _number(dim.get("daily_budget"), 2)
        base = daily_budget if daily_budget is not None and daily_budget > 0 else None
        if base is not None:
            metrics["daily_budget"] = base
        line = lines.get(key)
        low, high = _budget_bounds(base, line, config)
        status = None if dim.get("status") is None else str(dim.get("status"))
        health_status = health_by_account.get((platform, account_id))
        names = [
            n
            for n in (
                rows["campaign_name"].iloc[-1] if len(rows) else None,
                line and line.get("campaign_name"),
            )
            if n
        ]
        campaign_facts.append(
            CampaignFacts(
                id=metric_id(platform, account_id, campaign_id),
                platform=platform,
                account_id=account_id,
                campaign_id=campaign_id,
                name=clean_text(names[0], config.name_max_chars) if names else None,
                currency=(str(rows["currency"].iloc[-1]) if len(rows) else None)
                or (line or {}).get("currency"),
                status=status,
                health_status=health_status,
                current_daily_budget=None if base is None else round(base, 2),
                budget_min=low,
                budget_max=high,
                allowed_actions=_allowed_actions(
                    status,
                    health_status,
                    has_budget=low is not None,
                    has_allocation=line is not None,
                    writable=writable is None or platform in writable,
                ),
                fields=_fields(metrics.items()),
            )
        )

    alert_facts = [_alert_facts(a, config) for a in live_alerts]
    allocation_facts = [
        AllocationFacts(
            id=allocation_ref(int(line["allocation_id"]), *key),
            allocation_id=int(line["allocation_id"]),
            platform=key[0],
            account_id=key[1],
            campaign_id=key[2],
            treatment=clean_text(line.get("treatment"), 40),
            binding=clean_text(line.get("binding"), 40),
            fields=_fields(
                (name, line.get(name))
                for name in (
                    "current_daily_spend",
                    "recommended_daily_budget",
                    "min_daily_budget",
                    "max_daily_budget",
                    "expected_value",
                    "current_value",
                    "fit_quality",
                )
            ),
        )
        for key, line in lines.items()
    ]
    rule_facts = [
        RuleFacts(
            id=rule_ref(
                int(m["rule_run_id"]), str(m["platform"]), str(m["account_id"]), str(m["campaign_id"])
            ),
            rule_run_id=int(m["rule_run_id"]),
            rule_id=int(m["rule_id"]),
            rule_name=clean_text(m.get("rule_name"), config.name_max_chars),
            platform=str(m["platform"]),
            account_id=str(m["account_id"]),
            campaign_id=str(m["campaign_id"]),
            fields=_rule_fields(m.get("match") or {}),
        )
        for m in rule_matches
    ]
    return RecommendationContext(
        as_of=as_of,
        campaigns=tuple(campaign_facts),
        alerts=tuple(alert_facts),
        allocations=tuple(allocation_facts),
        rules=tuple(rule_facts),
        config=config,
    )


def _severity_rank(severity: object) -> int:
    return {"LOW": 0, "MEDIUM": 1, "HIGH": 2, "CRITICAL": 3}.get(str(severity), 0)


def _alert_facts(alert: Mapping[str, Any], config: RecommenderConfig) -> AlertFacts:
    evidence = alert.get("evidence") or {}
    pairs: list[tuple[str, object]] = [
        ("current_value", alert.get("current_value")),
        ("baseline_value", alert.get("baseline_value")),
        ("threshold", alert.get("threshold")),
    ]
    # The evidence's top-level numbers (shortfall, z-score, window spend, ...): nested detail stays out.
    pairs += [
        (str(k), v) for k, v in evidence.items() if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    level = str(alert["entity_level"])
    return AlertFacts(
        id=alert_ref(int(alert["alert_id"])),
        alert_id=int(alert["alert_id"]),
        alert_type=str(alert["alert_type"]),
        severity=str(alert["severity"]),
        platform=str(alert["platform"]),
        account_id=None if alert.get("account_id") is None else str(alert["account_id"]),
        entity_level=level,
        entity_id=str(alert["entity_id"]),
        campaign_id=str(alert["entity_id"]) if level == "campaign" else None,
        name=clean_text(alert.get("entity_name"), config.name_max_chars),
        metric=None if alert.get("metric") is None else str(alert["metric"]),
        window_start=None if alert.get("window_start") is None else str(alert["window_start"]),
        window_end=None if alert.get("window_end") is None else str(alert["window_end"]),
        fields=dict(list(_fields(pairs).items())[:24]),
    )
