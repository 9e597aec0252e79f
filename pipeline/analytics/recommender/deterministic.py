"""The deterministic recommender: alerts, rule matches and the allocation turned into recommendations.

It answers without a model (no key, an API error, or an answer that failed validation) and follows
fixed rules, one recommendation per entity at most, in this order:

1. a live data alert (DATA_*) → INVESTIGATE the entity: nothing is changed on data that is not healthy;
2. a campaign's most severe live business alert:
   - ZERO_CONVERSIONS, HIGH or CRITICAL → PAUSE, where pausing is allowed;
   - ROAS_DROP or CPA_SPIKE, HIGH or CRITICAL → REALLOCATE to the allocation's lower budget if it has
     one, else BUDGET_CHANGE cutting the budget by ``ALERT_BUDGET_CUT`` (both within the campaign's
     bounds), where budget changes are allowed;
   - anything else → INVESTIGATE;
3. an account- or platform-level business alert → INVESTIGATE;
4. an allocation line moving a campaign's budget by at least ``min_allocation_change`` → REALLOCATE,
   clamped to the campaign's bounds;
5. a rule match on a campaign with nothing above → INVESTIGATE (the rule queues its own actions).

Every recommendation cites the numbers it rests on, in the same form a model must use, so both paths are
stored and checked alike.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.analytics.recommender.context import (
    AlertFacts,
    AllocationFacts,
    CampaignFacts,
    RecommendationContext,
    RuleFacts,
)
from pipeline.analytics.recommender.model import Citation, Recommendation

ALERT_BUDGET_CUT = 0.2
SEVERITY_RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2, "CRITICAL": 3}
CONFIDENCE = {"data": 0.9, "pause": 0.7, "budget": 0.6, "investigate": 0.5}


def _cite(item: CampaignFacts | AlertFacts | AllocationFacts | RuleFacts, *names: str) -> list[Citation]:
    return [Citation(_source(item), item.id, n, item.fields[n]) for n in names if n in item.fields]


def _source(item: object) -> str:
    return {
        CampaignFacts: "metric",
        AlertFacts: "alert",
        AllocationFacts: "allocation",
        RuleFacts: "rule",
    }[type(item)]


def _money(value: float | None, currency: str | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}{' ' + currency if currency else ''}"


def _label(campaign: CampaignFacts | None, alert: AlertFacts | None = None) -> str:
    name = (campaign.name if campaign else None) or (alert.name if alert else None)
    entity = campaign.campaign_id if campaign else (alert.entity_id if alert else "?")
    return f"'{name}' ({entity})" if name and name != entity else entity


def _clamp(value: float, campaign: CampaignFacts) -> float:
    assert campaign.budget_min is not None and campaign.budget_max is not None
    return round(min(max(value, campaign.budget_min), campaign.budget_max), 2)


def _campaign_rec(
    campaign: CampaignFacts,
    action: str,
    title: str,
    rationale: str,
    confidence: float,
    citations: list[Citation],
    new_daily_budget: float | None = None,
) -> Recommendation:
    return Recommendation(
        action=action,
        entity_level="campaign",
        platform=campaign.platform,
        account_id=campaign.account_id,
        campaign_id=campaign.campaign_id,
        title=title,
        rationale=rationale,
        confidence=confidence,
        citations=tuple(citations),
        new_daily_budget=new_daily_budget,
        current_daily_budget=campaign.current_daily_budget,
        entity_name=campaign.name,
        currency=campaign.currency,
    )


def _alert_rec(
    alert: AlertFacts, campaign: CampaignFacts | None, confidence: float, why: str
) -> Recommendation:
    label = _label(campaign, alert)
    kind = alert.alert_type.replace("_", " ").lower()
    metric_citations = _cite(campaign, "spend_7d", "conversions_7d") if campaign else []
    return Recommendation(
        action="INVESTIGATE",
        entity_level=alert.entity_level,
        platform=alert.platform,
        account_id=alert.account_id if alert.entity_level != "platform" else None,
        campaign_id=alert.campaign_id,
        title=f"Investigate {kind} on {alert.entity_level} {label}",
        rationale=(
            f"{alert.severity} {alert.alert_type} alert {alert.id}: {alert.metric or 'value'}"
            f" {alert.fields.get('current_value', 'n/a')} against a baseline of"
            f" {alert.fields.get('baseline_value', 'n/a')} ({alert.window_start} to {alert.window_end}). {why}"
        ),
        confidence=confidence,
        citations=tuple(_cite(alert, "current_value", "baseline_value", "threshold") + metric_citations),
        entity_name=campaign.name if campaign else alert.name,
        currency=campaign.currency if campaign else None,
    )


def _business_alert_rec(
    alert: AlertFacts, others: list[AlertFacts], campaign: CampaignFacts, ctx: RecommendationContext
) -> Recommendation:
    label = _label(campaign, alert)
    severe = SEVERITY_RANK.get(alert.severity, 0) >= SEVERITY_RANK["HIGH"]
    related = [c for other in others for c in _cite(other, "current_value")]
    base = _cite(alert, "current_value", "baseline_value") + related
    if alert.alert_type == "ZERO_CONVERSIONS" and severe and "PAUSE" in campaign.allowed_actions:
        return _campaign_rec(
            campaign,
            "PAUSE",
            f"Pause {label}: no conversions on {_money(campaign.fields.get('spend_7d'), campaign.currency)} spend",
            (
                f"{alert.severity} alert {alert.id}: zero conversions from {alert.window_start} to {alert.window_end}"
                f" against {alert.fields.get('baseline_value', 'n/a')} expected; 7-day spend"
                f" {_money(campaign.fields.get('spend_7d'), campaign.currency)}. Pausing stops spend that is not"
                " converting until tracking and delivery are checked."
            ),
            CONFIDENCE["pause"],
            base + _cite(campaign, "spend_7d", "conversions_7d"),
        )
    if (
        alert.alert_type in ("ROAS_DROP", "CPA_SPIKE")
        and severe
        and "BUDGET_CHANGE" in campaign.allowed_actions
    ):
        assert campaign.current_daily_budget is not None
        line = ctx.allocation_for(campaign)
        recommended = line.fields.get("recommended_daily_budget") if line else None
        current = campaign.current_daily_budget
        if (
            line is not None
            and recommended is not None
            and recommended < current
            and "REALLOCATE" in campaign.allowed_actions
        ):
            new_budget = _clamp(recommended, campaign)
            return _campaign_rec(
                campaign,
                "REALLOCATE",
                f"Move budget away from {label}: {_money(current, campaign.currency)} → {_money(new_budget, campaign.currency)} a day",
                (
                    f"{alert.severity} {alert.alert_type} alert {alert.id} ({alert.metric}"
                    f" {alert.fields.get('current_value', 'n/a')} vs {alert.fields.get('baseline_value', 'n/a')}) and"
                    f" allocation {line.allocation_id} recommends {recommended:,.2f} a day; the change is held within"
                    f" {campaign.budget_min:,.2f}..{campaign.budget_max:,.2f}."
                ),
                CONFIDENCE["budget"],
                base
                + _cite(line, "current_daily_spend", "recommended_daily_budget")
                + _cite(campaign, "roas_7d"),
                new_daily_budget=new_budget,
            )
        new_budget = _clamp(current * (1 - ALERT_BUDGET_CUT), campaign)
        return _campaign_rec(
            campaign,
            "BUDGET_CHANGE",
            f"Cut the daily budget of {label} to {_money(new_budget, campaign.currency)}",
            (
                f"{alert.severity} {alert.alert_type} alert {alert.id}: {alert.metric}"
                f" {alert.fields.get('current_value', 'n/a')} against {alert.fields.get('baseline_value', 'n/a')}"
                f" expected ({alert.window_start} to {alert.window_end}). Cutting {ALERT_BUDGET_CUT:.0%} limits the"
                " spend at the worse efficiency while the cause is found."
            ),
            CONFIDENCE["budget"],
            base + _cite(campaign, "daily_budget", "avg_daily_spend_7d", "roas_7d", "cpa_7d"),
            new_daily_budget=new_budget,
        )
    why = (
        "Changes are held: the account's data is not healthy."
        if campaign.health_status not in (None, "healthy")
        else "Look at what changed (creative, audience, landing page, tracking) before changing budgets."
    )
    rec = _alert_rec(alert, campaign, CONFIDENCE["investigate"], why)
    return replace(rec, citations=rec.citations + tuple(related))


def _allocation_rec(
    line: AllocationFacts, campaign: CampaignFacts, ctx: RecommendationContext
) -> Recommendation | None:
    if "REALLOCATE" not in campaign.allowed_actions or campaign.current_daily_budget is None:
        return None
    recommended = line.fields.get("recommended_daily_budget")
    if recommended is None:
        return None
    current = campaign.current_daily_budget
    new_budget = _clamp(recommended, campaign)
    if abs(new_budget - current) < ctx.config.min_allocation_change * current:
        return None
    fit = line.fields.get("fit_quality")
    confidence = (
        0.4 if line.treatment and line.treatment != "fitted" else 0.5 + 0.4 * min(max(fit or 0.0, 0.0), 1.0)
    )
    direction = "Raise" if new_budget > current else "Lower"
    return _campaign_rec(
        campaign,
        "REALLOCATE",
        f"{direction} the daily budget of {_label(campaign)} to {_money(new_budget, campaign.currency)}",
        (
            f"Allocation {line.allocation_id} puts {recommended:,.2f} a day on this campaign against"
            f" {line.fields.get('current_daily_spend', 0):,.2f} spent now (expected value"
            f" {line.fields.get('expected_value', 'n/a')} vs {line.fields.get('current_value', 'n/a')}, fit"
            f" {fit if fit is not None else 'n/a'}, {line.treatment or 'fitted'}); held within"
            f" {campaign.budget_min:,.2f}..{campaign.budget_max:,.2f} per change."
        ),
        round(confidence, 2),
        _cite(line, "current_daily_spend", "recommended_daily_budget", "fit_quality")
        + _cite(campaign, "roas_28d"),
        new_daily_budget=new_budget,
    )


def recommend(ctx: RecommendationContext) -> list[Recommendation]:
    """The deterministic recommendations for ``ctx`` (see the module doc for the rules)."""
    recommendations: dict[tuple[str, str, str, str], Recommendation] = {}

    def add(rec: Recommendation | None) -> None:
        if rec is not None and rec.entity_key not in recommendations:
            recommendations[rec.entity_key] = rec

    campaigns = {(c.platform, c.account_id, c.campaign_id): c for c in ctx.campaigns}
    by_severity = sorted(ctx.alerts, key=lambda a: (-SEVERITY_RANK.get(a.severity, 0), a.alert_id))

    for alert in (a for a in by_severity if a.is_data_alert):
        campaign = campaigns.get((alert.platform, alert.account_id or "", alert.campaign_id or ""))
        add(_alert_rec(alert, campaign, CONFIDENCE["data"], "Fix the data before acting on its numbers."))

    campaign_alerts: dict[tuple[str, str, str], list[AlertFacts]] = {}
    for alert in (a for a in by_severity if not a.is_data_alert):
        if alert.entity_level == "campaign":
            campaign_alerts.setdefault((alert.platform, alert.account_id or "", alert.entity_id), []).append(
                alert
            )
    for key, alerts in campaign_alerts.items():
        campaign = campaigns.get(key)
        if campaign is None:
            add(_alert_rec(alerts[0], None, CONFIDENCE["investigate"], "The campaign has no recent metrics."))
        else:
            add(_business_alert_rec(alerts[0], alerts[1:], campaign, ctx))

    for alert in (a for a in by_severity if not a.is_data_alert and a.entity_level != "campaign"):
        add(
            _alert_rec(
                alert, None, CONFIDENCE["investigate"], "Find the campaigns behind it before changing any."
            )
        )

    for line in ctx.allocations:
        campaign = campaigns.get((line.platform, line.account_id, line.campaign_id))
        if (
            campaign is not None
            and ("campaign", line.platform, line.account_id, line.campaign_id) not in recommendations
        ):
            add(_allocation_rec(line, campaign, ctx))

    for match in ctx.rules:
        campaign = campaigns.get((match.platform, match.account_id, match.campaign_id))
        if campaign is None:
            continue
        values = ", ".join(f"{k} {v}" for k, v in list(match.fields.items())[:4])
        add(
            _campaign_rec(
                campaign,
                "INVESTIGATE",
                f"Review {_label(campaign)}: matched rule {match.rule_name or match.rule_id}",
                f"Rule run {match.rule_run_id} matched this campaign ({values or 'no values recorded'}).",
                CONFIDENCE["investigate"],
                _cite(match, *list(match.fields)[:4]) + _cite(campaign, "spend_7d", "roas_7d"),
            )
        )

    return list(recommendations.values())[: ctx.config.max_recommendations]
