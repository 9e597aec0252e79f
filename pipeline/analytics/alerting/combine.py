"""Combining: one alert per cause, roll-ups, gating on signal health."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pipeline.analytics.alerting.context import Context
from pipeline.analytics.alerting.frames import (
    Panel,
)
from pipeline.analytics.alerting.health import gate_reason
from pipeline.analytics.alerting.model import (
    Alert,
    AlertConfig,
    AlertType,
    Check,
    EntityLevel,
)

# One cause, several symptoms: on one entity only the most specific conversion alert is kept.
CONVERSION_FAMILY = (AlertType.ZERO_CONVERSIONS, AlertType.ROAS_DROP, AlertType.CPA_SPIKE)


def keep_most_specific(alerts: list[Alert]) -> list[Alert]:
    """ZERO_CONVERSIONS explains a ROAS drop and a CPA spike of the same entity, a ROAS drop
    explains a CPA spike: keep the first, note the others in its evidence. An inconclusive (held)
    ZERO_CONVERSIONS yields to a ROAS or CPA alert of the entity and is listed in its evidence."""
    by_entity: dict[tuple[str, str, str | None, str], list[Alert]] = {}
    for alert in alerts:
        if alert.alert_type in CONVERSION_FAMILY:
            # Ids are unique only within an account: two accounts' campaign c1 are two entities.
            entity = (alert.platform, alert.entity_level.value, alert.account_id, alert.entity_id)
            by_entity.setdefault(entity, []).append(alert)
    dropped: set[int] = set()
    replaced: dict[int, Alert] = {}
    for group in by_entity.values():
        if len(group) < 2:
            continue
        # A CPA spike driven by dearer clicks names the cause; it speaks before a ROAS drop.
        group.sort(
            key=lambda a: CONVERSION_FAMILY.index(a.alert_type) - 1.5 * (a.evidence.get("driver") == "cpc")
        )
        kept, others = group[0], group[1:]
        if kept.evidence.get("inconclusive"):
            # Held quiet days do not hide a rate test that fired: it speaks, they are its evidence.
            kept, others = others[0], [kept, *others[1:]]
        related = [
            {
                "alert_type": o.alert_type.value,
                "metric": o.metric,
                "value": o.value,
                "baseline": o.baseline,
                "window_start": o.window_start.isoformat(),
                "window_end": o.window_end.isoformat(),
            }
            for o in others
        ]
        replaced[id(kept)] = replace(kept, evidence={**kept.evidence, "related_signals": related})
        dropped.update(id(o) for o in others)
    return [replaced.get(id(a), a) for a in alerts if id(a) not in dropped]


def _family(alert_type: AlertType) -> str:
    return "conversions" if alert_type in CONVERSION_FAMILY else alert_type.value


def roll_up(alerts: list[Alert], config: AlertConfig) -> list[Alert]:
    """Broader alerts carry their narrower ones when they have several, and defer to a single one.

    An account alert with ``rollup_min_children`` or more campaign alerts of its family under it
    (ZERO_CONVERSIONS, ROAS_DROP and CPA_SPIKE are one family: one cause shows as any of them)
    stays active and lists them, and they are held ("rolled up into ..."). With fewer that account
    for at least half of its shortfall, it adds nothing to them and is held instead ("explained
    by ..."); when they account for less, the problem is broader than them and all stay active
    (children without comparable figures are left out of that sum). Same between platform and account
    alerts. A broader alert with no narrower ones (a change spread thinly over many entities)
    stays active.
    """
    reasons: dict[int, str] = {}
    children_of: dict[int, list[Alert]] = {}
    for parent_level, child_level in (
        (EntityLevel.ACCOUNT, EntityLevel.CAMPAIGN),
        (EntityLevel.PLATFORM, EntityLevel.ACCOUNT),
    ):
        for parent in (
            a for a in alerts if a.entity_level == parent_level and not a.alert_type.is_data_alert
        ):
            children = [
                a
                for a in alerts
                if a.entity_level == child_level
                and _family(a.alert_type) == _family(parent.alert_type)
                and a.platform == parent.platform
                and (parent_level == EntityLevel.PLATFORM or a.account_id == parent.account_id)
            ]
            if not children:
                continue
            children_of[id(parent)] = children
            if len(children) >= config.rollup_min_children:
                for child in children:
                    reasons.setdefault(
                        id(child),
                        f"rolled up into the {parent_level.value} {parent.alert_type.value} alert for "
                        f"{parent.entity_name} ({parent.entity_id})",
                    )
            elif _explained_share(parent, children) >= 0.5:
                listed = " and ".join(
                    f"{c.entity_name} ({c.entity_id}, {c.alert_type.value})" for c in children
                )
                reasons[id(parent)] = f"explained by the {child_level.value} alerts for {listed}"
    out = []
    for alert in alerts:
        reason = reasons.get(id(alert))
        children = children_of.get(id(alert))
        if children:
            narrower = [
                {
                    "alert_type": c.alert_type.value,
                    "entity_level": c.entity_level.value,
                    "entity_id": c.entity_id,
                    "entity_name": c.entity_name,
                    "value": c.value,
                    "baseline": c.baseline,
                }
                for c in children
            ]
            alert = replace(alert, evidence={**alert.evidence, "narrower_alerts": narrower})
        if reason:
            alert = replace(alert, suppressed_reason=alert.suppressed_reason or reason)
        out.append(alert)
    return out


def _explained_share(parent: Alert, children: list[Alert]) -> float:
    """Share of the broader alert's shortfall its narrower alerts account for (1.0 when the
    figures are not comparable): one small campaign's drop does not explain an account-wide one.
    Rate alerts of different metrics (a ROAS drop over CPA spikes) compare in counts: the relative
    shortfall x the conversions (or clicks) expected."""

    def in_counts(alert: Alert) -> float | None:
        evidence = alert.evidence
        if "relative_shortfall" in evidence and "expected_counts" in evidence:
            return float(evidence["relative_shortfall"]) * float(evidence["expected_counts"])
        return None

    total = in_counts(parent)
    shortfalls = [in_counts(c) for c in children]
    if total is not None and children and all(s is not None for s in shortfalls):
        return sum(max(s or 0.0, 0.0) for s in shortfalls) / total if total > 0 else 1.0
    for name in ("value", "conversions", "clicks"):
        key_expected, key_observed = f"expected_{name}", f"observed_{name}"

        def shortfall(alert: Alert, keys: tuple[str, str] = (key_expected, key_observed)) -> float | None:
            if keys[0] in alert.evidence and keys[1] in alert.evidence:
                return float(alert.evidence[keys[0]]) - float(alert.evidence[keys[1]])
            return None

        total = shortfall(parent)
        explained = [s for c in children if (s := shortfall(c)) is not None]
        if total is not None and explained:
            return sum(max(s, 0.0) for s in explained) / total if total > 0 else 1.0
    return 1.0


def gate_check(check: Check, context: Context, period: tuple[date, date]) -> str | None:
    """Why a passed check does not count as scored (its data is not healthy), or ``None``."""
    key = (
        (check.platform,)
        if check.entity_level == EntityLevel.PLATFORM
        else (check.platform, str(check.account_id))
    )
    return gate_reason(context.health, context.scopes(check.entity_level, key), period)


def gate(alerts: list[Alert], context: Context) -> list[Alert]:
    out = []
    for alert in alerts:
        key: tuple[str, ...]
        if alert.entity_level == EntityLevel.PLATFORM:
            key = (alert.platform,)
        else:
            key = (alert.platform, str(alert.account_id))
        reason = gate_reason(
            context.health, context.scopes(alert.entity_level, key), (alert.window_start, alert.window_end)
        )
        out.append(replace(alert, suppressed_reason=reason) if reason else alert)
    return out


def account_facts(
    panel: Panel,
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], str | None], dict[tuple[str, str], str]]:
    """Spend over the scored period (money at stake for data alerts), currency and name per account."""
    if not panel.size:
        return {}, {}, {}
    frame = panel.entities[["platform", "account_id", "currency", "account_name"]].copy()
    frame["spend"] = panel.spend[:, panel.scored].sum(axis=1)
    grouped = frame.groupby(["platform", "account_id"], sort=True)
    return (
        {k: float(v) for k, v in grouped["spend"].sum().items()},
        {k: (v if isinstance(v, str) else None) for k, v in grouped["currency"].last().items()},
        {k: v for k, v in grouped["account_name"].last().items() if isinstance(v, str) and v},
    )
