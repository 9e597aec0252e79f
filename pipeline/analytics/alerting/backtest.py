"""Backtest tables: what a replay says would have fired, and the user rules over the same days.

Rows are JSON-ready dicts, one per alert that would have been raised (an *episode*: the mornings
from its opening to its last detection), in the order they opened. Days are the complete days of
data, as the daily partitions and ``adsignal alerts backtest --from/--to`` count them: an alert
whose ``first_day`` is the 11th was raised the morning of the 12th on data through the 11th.

- ``first_day`` / ``last_day``: the days it was first and last detected on;
- ``resolved_day``: the day whose data resolved it (a check passed), empty while live at the end;
- ``days_detected``: how many mornings detected it; ``status``: ``held`` when it never reached
  people (signal health, roll-ups), else ``resolved`` or ``open`` (live at the end);
- ``value`` / ``baseline`` / ``threshold`` and ``evidence``: the detection that opened it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from pipeline.analytics.alerting.model import SEVERITY_ORDER
from pipeline.analytics.alerting.replay import AlertEpisode
from pipeline.analytics.rules import Rule
from pipeline.analytics.rules.evaluate import evaluate_rule
from pipeline.jsonable import jsonable

ROW_COLUMNS = (
    "source", "alert_type", "severity", "status", "platform", "account_id", "entity_level", "entity_id",
    "entity_name", "first_day", "last_day", "resolved_day", "days_detected", "metric", "value", "baseline",
    "threshold", "window_start", "window_end", "title", "held_reason", "actions", "evidence",
)  # fmt: skip
ONE_DAY = timedelta(days=1)


def episode_row(episode: AlertEpisode) -> dict[str, Any]:
    """One alert the detector would have raised (see the module docstring)."""
    first, last = episode.first_alert, episode.alert
    if first is None or last is None or not episode.mornings:
        raise ValueError("an episode carried over without detections has nothing to report")
    if episode.first_active_on is None:
        status = "held"
    elif episode.resolved_on is not None:
        status = "resolved"
    else:
        status = "open"
    return {
        "source": "detector",
        "alert_type": first.alert_type.value,
        "severity": (episode.peak_severity or first.severity).value,
        "status": status,
        "platform": first.platform,
        "account_id": first.account_id,
        "entity_level": first.entity_level.value,
        "entity_id": first.entity_id,
        "entity_name": last.entity_name,
        "first_day": episode.mornings[0] - ONE_DAY,
        "last_day": episode.mornings[-1] - ONE_DAY,
        "resolved_day": episode.resolved_on - ONE_DAY if episode.resolved_on else None,
        "days_detected": len(episode.mornings),
        "metric": first.metric,
        "value": first.value,
        "baseline": first.baseline,
        "threshold": first.threshold,
        "window_start": first.window_start,
        "window_end": first.window_end,
        "title": first.title,
        "held_reason": None if episode.first_active_on else first.suppressed_reason,
        "actions": None,
        "evidence": jsonable(first.evidence),
    }


def history_frame(episodes: Iterable[AlertEpisode], rule_rows: Iterable[dict[str, Any]] = ()) -> pd.DataFrame:
    """One row per alert that would have fired (detector episodes, then rule episodes)."""
    rows = [episode_row(e) for e in episodes if e.first_alert is not None]
    return pd.DataFrame([*rows, *rule_rows], columns=list(ROW_COLUMNS))


def summary_frame(history: Iterable[AlertEpisode] | pd.DataFrame) -> pd.DataFrame:
    """Per alert type and severity: alerts that reached people, alerts only ever held, entities
    and campaigns concerned, mornings detected, median days per alert, alerts live at the end."""
    frame = history if isinstance(history, pd.DataFrame) else history_frame(history)
    columns = [
        "alert_type", "severity", "alerts", "held", "entities", "campaigns", "days_detected",
        "median_days", "live_at_end",
    ]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=columns)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in frame.to_dict("records"):
        groups[(row["alert_type"], row["severity"] or "")].append(row)
    out = []
    for (alert_type, severity), rows in groups.items():
        out.append(
            {
                "alert_type": alert_type,
                "severity": severity or None,
                "alerts": sum(r["status"] != "held" for r in rows),
                "held": sum(r["status"] == "held" for r in rows),
                "entities": len({(r["platform"], r["entity_level"], r["entity_id"]) for r in rows}),
                "campaigns": len(
                    {(r["platform"], r["entity_id"]) for r in rows if r["entity_level"] == "campaign"}
                ),
                "days_detected": sum(int(r["days_detected"]) for r in rows),
                "median_days": statistics.median(int(r["days_detected"]) for r in rows),
                "live_at_end": sum(pd.isna(r["resolved_day"]) for r in rows),
            }
        )
    severity_rank = {s.value: i for i, s in enumerate(SEVERITY_ORDER)}
    out.sort(key=lambda r: (r["alert_type"], -severity_rank.get(r["severity"] or "", -1)))
    return pd.DataFrame(out, columns=columns)


# --- user rules over the same days ----------------------------------------------------------------


@dataclass
class _RuleEpisode:
    rule_id: int | None
    rule: Rule
    first: Any  # the Match that opened it
    days: list[date] = field(default_factory=list)
    actions: set[str] = field(default_factory=set)
    severity: str | None = None


def replay_rules(
    rules: Sequence[tuple[int | None, Rule]],
    campaign_daily: pd.DataFrame,
    first_day: date,
    last_day: date,
    *,
    campaigns: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
    reporting_currency: str | None = None,
) -> list[dict[str, Any]]:
    """Every rule evaluated as of each day first_day..last_day (as the rules asset does each day):
    one row per run of consecutive days a rule matched an entity, with the actions it would have
    planned (``type:status``; nothing is carried out). Rows are shaped like :func:`episode_row`."""
    rows: list[dict[str, Any]] = []
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    for rule_id, rule in rules:
        live: dict[tuple[Any, ...], _RuleEpisode] = {}
        for day in days:
            evaluation = evaluate_rule(
                rule,
                campaign_daily,
                day,
                rule_id=rule_id,
                campaigns=campaigns,
                health=health,
                reporting_currency=reporting_currency,
            )
            matched: dict[tuple[Any, ...], _RuleEpisode] = {}
            for match in evaluation.matches:
                key = (match.platform, match.account_id, match.campaign_id)
                episode = live.get(key) or _RuleEpisode(rule_id, rule, match)
                episode.days.append(day)
                matched[key] = episode
            for action in evaluation.actions:
                key = (action.match.platform, action.match.account_id, action.match.campaign_id)
                matched[key].actions.add(f"{action.type}:{action.status}")
                if action.alert is not None:
                    episode = matched[key]
                    episode.severity = _higher(episode.severity, action.alert.severity)
            for key, episode in live.items():
                if key not in matched:
                    rows.append(_rule_row(episode, resolved_day=day))
            live = matched
        rows += [_rule_row(episode, resolved_day=None) for episode in live.values()]
    rows.sort(key=lambda r: (r["first_day"], r["alert_type"], r["platform"], r["entity_id"]))
    return rows


def _higher(a: str | None, b: str) -> str:
    rank = {s.value: i for i, s in enumerate(SEVERITY_ORDER)}
    return b if a is None or rank.get(b, -1) > rank.get(a, -1) else a


def _rule_row(episode: _RuleEpisode, resolved_day: date | None) -> dict[str, Any]:
    match = episode.first
    first_condition = next((c for c in match.conditions if c.met), None)
    return {
        "source": "rule",
        "alert_type": f"RULE_{episode.rule_id if episode.rule_id is not None else episode.rule.name}",
        "severity": episode.severity,
        "status": "resolved" if resolved_day else "open",
        "platform": match.platform,
        "account_id": match.account_id,
        "entity_level": match.level,
        "entity_id": match.entity_id,
        "entity_name": match.campaign_name,
        "first_day": episode.days[0],
        "last_day": episode.days[-1],
        "resolved_day": resolved_day,
        "days_detected": len(episode.days),
        "metric": first_condition.metric if first_condition else None,
        "value": first_condition.value if first_condition else None,
        "baseline": None,
        "threshold": first_condition.threshold if first_condition else None,
        "window_start": match.window_start,
        "window_end": match.window_end,
        "title": f"Rule '{episode.rule.name}' matched {match.label}: {match.explain()}",
        "held_reason": None,
        "actions": sorted(episode.actions),
        "evidence": {"rule_id": episode.rule_id, "rule_name": episode.rule.name, **match.to_json()},
    }
