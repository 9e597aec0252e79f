"""Signal health: summaries for evidence, gating of business alerts, and data alerts.

The health facts (``fct_signal_health_daily``: one row per day x platform x account) say whether
the data of an account-day can be trusted. Business alerts computed from a window that contains a
degraded or unhealthy day of their scope are held (returned with ``suppressed_reason``) and a data
alert is raised instead: numbers from broken data should lead people to fix the data, not to move
budgets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from pipeline.analytics.alerting.frames import HealthDay, HealthIndex
from pipeline.analytics.alerting.model import (
    Alert,
    AlertConfig,
    AlertType,
    Check,
    EntityLevel,
    severity_for,
)

STATUS_RANK = {"unknown": -1, "healthy": 0, "degraded": 1, "unhealthy": 2}

# Which data alert an issue raises, by words in its check name (first match wins); the dimension
# scores decide for checks that match none.
ISSUE_KEYWORDS: tuple[tuple[AlertType, tuple[str, ...]], ...] = (
    (AlertType.DATA_STALE, ("fresh", "stale", "late", "lag", "sync_age", "delay")),
    (AlertType.DATA_INCOMPLETE, ("complete", "missing", "gap", "coverage", "row_count", "volume", "partial")),
    (
        AlertType.DATA_INCONSISTENT,
        ("accura", "consisten", "reconcil", "mismatch", "duplicate", "negative", "drift"),
    ),
)
SCORE_FOR_TYPE = {
    AlertType.DATA_STALE: "freshness_score",
    AlertType.DATA_INCOMPLETE: "completeness_score",
    AlertType.DATA_INCONSISTENT: "accuracy_score",
}


def data_alert_type(check: str) -> AlertType | None:
    name = check.lower()
    for alert_type, words in ISSUE_KEYWORDS:
        if any(word in name for word in words):
            return alert_type
    return None


def _worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda s: STATUS_RANK[s], default="unknown")


def summarize(
    index: HealthIndex | None,
    scopes: list[tuple[str, str]],
    window: tuple[date, date],
    baseline: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """The ``signal_health`` evidence of data used: the scope's health over the window (day by
    day) and, in short, over the baseline."""
    if index is None:
        return {"status": "unknown", "source": None, "note": "no signal health facts were supplied"}
    window_days = _days(window)
    rows = [(scope, index.get(scope, {}).get(day)) for scope in scopes for day in window_days]
    known = [day for _, day in rows if day is not None]
    summary: dict[str, Any] = {
        "source": "fct_signal_health_daily",
        "status": _worst(d.status for d in known),
        "window_start": window[0].isoformat(),
        "window_end": window[1].isoformat(),
        "days_without_health_facts": sum(1 for _, day in rows if day is None),
        "min_health_score": _min_score(known, "health_score"),
        "days": [
            {**({"account_id": scope[1]} if len(scopes) > 1 else {}), **day.as_evidence()}
            for scope, day in rows
            if day is not None and (day.is_degraded or len(scopes) == 1)
        ],
    }
    if baseline is not None:
        baseline_known = [
            day
            for scope in scopes
            for d in _days(baseline)
            if (day := index.get(scope, {}).get(d)) is not None
        ]
        summary["baseline"] = {
            "start": baseline[0].isoformat(),
            "end": baseline[1].isoformat(),
            "status": _worst(d.status for d in baseline_known),
            "degraded_days": sum(1 for d in baseline_known if d.is_degraded),
            "days_without_health_facts": len(scopes) * len(_days(baseline)) - len(baseline_known),
            "min_health_score": _min_score(baseline_known, "health_score"),
        }
    return summary


def gate_reason(
    index: HealthIndex | None, scopes: list[tuple[str, str]], window: tuple[date, date]
) -> str | None:
    """Why an alert over ``window`` must be held, or ``None`` when its data is healthy (or unknown)."""
    if index is None:
        return None
    bad = [
        (scope, day)
        for scope in scopes
        for d in _days(window)
        if (day := index.get(scope, {}).get(d)) is not None and day.is_degraded
    ]
    if not bad:
        return None
    worst = _worst(day.status for _, day in bad)
    parts = []
    for (platform, account_id), day in bad[:3]:
        checks = ", ".join(sorted({i["check"] for i in day.issues if i["check"]})) or "no issue listed"
        parts.append(f"{platform} account {account_id} on {day.day} ({day.status}: {checks})")
    more = f" and {len(bad) - 3} more account-days" if len(bad) > 3 else ""
    return f"held: signal health {worst} for " + "; ".join(parts) + more


def health_window(as_of: date, config: AlertConfig) -> tuple[date, date]:
    """The days data alerts look at: every day the detector reads (baseline and scored days).

    A gap anywhere in them matters: in the scored days it holds business alerts, in the baseline
    it bends what "usual" means, and reports over those days are wrong until it is filled.
    """
    return (as_of - timedelta(days=config.baseline_days + config.scored_days), as_of - timedelta(days=1))


def data_alerts(
    index: HealthIndex | None,
    as_of: date,
    config: AlertConfig,
    spend_by_account: dict[tuple[str, str], float],
    currency_by_account: dict[tuple[str, str], str | None],
    name_by_account: dict[tuple[str, str], str] | None = None,
) -> list[Alert]:
    """DATA_STALE / DATA_INCOMPLETE / DATA_INCONSISTENT: one per account and type with a degraded
    or unhealthy day among the days the detector reads (:func:`health_window`), listing them all.

    Severity: MEDIUM (degraded) or HIGH (unhealthy) when such a day is among the last
    ``scored_days`` complete days (business alerts there are held), one level lower when the
    days are older; moved by the money at stake like business alerts.
    """
    if index is None:
        return []
    window = health_window(as_of, config)
    scored_start = as_of - timedelta(days=config.scored_days)
    alerts: list[Alert] = []
    for (platform, account_id), by_day in sorted(index.items()):
        bad = [by_day[d] for d in _days(window) if d in by_day and by_day[d].is_degraded]
        if not bad:
            continue
        by_type: dict[AlertType, list[tuple[HealthDay, list[dict[str, Any]]]]] = {}
        for day in bad:
            for alert_type, issues in _classify(day).items():
                by_type.setdefault(alert_type, []).append((day, issues))
        for alert_type, found in sorted(by_type.items()):
            alerts.append(
                _data_alert(
                    alert_type,
                    platform,
                    account_id,
                    found,
                    index,
                    window,
                    scored_start,
                    config,
                    spend_by_account.get((platform, account_id)),
                    currency_by_account.get((platform, account_id)),
                    (name_by_account or {}).get((platform, account_id), account_id),
                )
            )
    return alerts


def data_checks(index: HealthIndex | None, as_of: date, config: AlertConfig) -> list[Check]:
    """Per account with health facts up to the last complete day: each data alert type none of
    whose days in :func:`health_window` is degraded for it (the data recovered, e.g. a
    restatement filled the missing day). Accounts without current facts are not checked."""
    if index is None:
        return []
    window = health_window(as_of, config)
    checks: list[Check] = []
    for (platform, account_id), by_day in sorted(index.items()):
        days = [by_day[d] for d in _days(window) if d in by_day]
        if window[1] not in by_day:
            continue  # the facts are behind: nothing can be said about the latest days
        failing = {t for day in days if day.is_degraded for t in _classify(day)}
        for alert_type in sorted(SCORE_FOR_TYPE):
            if alert_type in failing:
                continue
            scores = [s for d in days if (s := d.scores.get(SCORE_FOR_TYPE[alert_type])) is not None]
            checks.append(
                Check(
                    alert_type=alert_type,
                    platform=platform,
                    account_id=account_id,
                    entity_level=EntityLevel.ACCOUNT,
                    entity_id=account_id,
                    window_start=window[0],
                    window_end=window[1],
                    evidence={
                        "metric": SCORE_FOR_TYPE[alert_type],
                        "status": _worst(d.status for d in days),
                        "min_score": min(scores) if scores else None,
                        "days_checked": len(days),
                        "window_start": window[0].isoformat(),
                        "window_end": window[1].isoformat(),
                    },
                    covers_since=window[0],
                )
            )
    return checks


def _classify(day: HealthDay) -> dict[AlertType, list[dict[str, Any]]]:
    """The data alert types a degraded day raises, each with the issues behind it."""
    out: dict[AlertType, list[dict[str, Any]]] = {}
    unmatched = []
    for issue in day.issues:
        alert_type = data_alert_type(issue["check"])
        if alert_type is None:
            unmatched.append(issue)
        else:
            out.setdefault(alert_type, []).append(issue)
    if unmatched or not out:
        # No (recognisable) issue: the weakest dimension score names the problem.
        scored = [(day.scores.get(SCORE_FOR_TYPE[t]), t) for t in SCORE_FOR_TYPE]
        scored = [(s, t) for s, t in scored if s is not None]
        fallback = min(scored, key=lambda st: st[0])[1] if scored else AlertType.DATA_INCONSISTENT
        out.setdefault(fallback, []).extend(unmatched)
    return out


def _data_alert(
    alert_type: AlertType,
    platform: str,
    account_id: str,
    found: list[tuple[HealthDay, list[dict[str, Any]]]],
    index: HealthIndex,
    window: tuple[date, date],
    scored_start: date,
    config: AlertConfig,
    spend: float | None,
    currency: str | None,
    name: str,
) -> Alert:
    days = [day for day, _ in found]
    status = _worst(d.status for d in days)
    recent = any(d.day >= scored_start for d in days)
    score_column = SCORE_FOR_TYPE[alert_type]
    scores = [d.scores.get(score_column) for d in days]
    known_scores = [s for s in scores if s is not None]
    value = min(known_scores) if known_scores else None
    issues = [issue | {"date": day.day.isoformat()} for day, day_issues in found for issue in day_issues]
    what = {
        AlertType.DATA_STALE: "stale",
        AlertType.DATA_INCOMPLETE: "incomplete",
        AlertType.DATA_INCONSISTENT: "inconsistent",
    }[alert_type]
    first, last = min(days, key=lambda d: d.day).day, max(days, key=lambda d: d.day).day
    listed = "; ".join(f"{i['check']}: {i['detail']}".strip(": ") for i in issues[:5]) or "no issue listed"
    money = f" on {spend:,.2f}{_suffix(currency)} of spend" if spend else ""
    listed_days = ", ".join(d.day.isoformat() for d in sorted(days, key=lambda d: d.day))
    consequence = (
        "Business alerts on this account are held until the data is healthy."
        if recent
        else "Baselines leave days without data out; reports over these days are wrong until the data is"
        " restated."
    )
    return Alert(
        alert_type=alert_type,
        severity=severity_for(
            0.0, spend, config, base=(2 if status == "unhealthy" else 1) - (0 if recent else 1)
        ),
        platform=platform,
        account_id=account_id,
        entity_level=EntityLevel.ACCOUNT,
        entity_id=account_id,
        entity_name=name,
        campaign_id=None,
        metric=score_column,
        value=value,
        baseline=None,
        threshold=None,
        window_start=first,
        window_end=last,
        title=f"{platform} account {account_id}: data {what} ({status})",
        message=(
            f"Signal health of {platform} account {account_id} is {status} on {listed_days}"
            f"{money}: {listed}. {consequence}"
        ),
        evidence={
            "status": status,
            "affected_days": [d.day.isoformat() for d in sorted(days, key=lambda d: d.day)],
            "in_scored_days": recent,
            "score_column": score_column,
            "scores": [s for s in scores],
            "issues": issues,
            "window_spend": spend,
            "currency": currency,
            "signal_health": summarize(index, [(platform, account_id)], window),
        },
    )


def _days(window: tuple[date, date]) -> list[date]:
    return [window[0] + timedelta(days=i) for i in range((window[1] - window[0]).days + 1)]


def _min_score(days: list[HealthDay], column: str) -> float | None:
    values = [s for d in days if (s := d.scores.get(column)) is not None]
    return min(values) if values else None


def _suffix(currency: str | None) -> str:
    return f" {currency}" if currency else ""
