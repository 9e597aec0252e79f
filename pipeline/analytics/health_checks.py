"""Verdicts of the data-health checks Dagster shows on the warehouse assets.

Two kinds, both pure (rows in, verdict out; no Dagster, no database):

- **signal health** per platform: the account-days of ``marts.fct_signal_health_daily`` in a window.
  Any unhealthy account-day fails the check as an error, degraded ones (and nothing worse) as a
  warning; the verdict names the accounts, days, scores and issues.
- **source freshness** per raw stream: the last succeeded sync of each account (``raw.sync_runs``)
  against the stream's dbt source freshness thresholds (``warn_after`` / ``error_after``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

Severity = Literal["error", "warn"]

# A check's metadata lists at most this many problem rows; the counts always cover all of them.
MAX_LISTED_PROBLEMS = 50


@dataclass(frozen=True)
class CheckVerdict:
    """What a check concluded: ``passed``, how bad a failure is, a one-line summary and evidence."""

    passed: bool
    severity: Severity
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthRow:
    """One scored account-day of fct_signal_health_daily."""

    platform: str
    account_id: str
    date_day: date
    status: str
    health_score: int
    freshness_score: int
    completeness_score: int
    accuracy_score: int
    issues: Sequence[dict[str, Any]] = ()


STATUS_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}


def _problem(row: HealthRow) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "date_day": row.date_day.isoformat(),
        "status": row.status,
        "health_score": row.health_score,
        "freshness_score": row.freshness_score,
        "completeness_score": row.completeness_score,
        "accuracy_score": row.accuracy_score,
        "issues": [f"{issue.get('check')}: {issue.get('detail')}" for issue in row.issues],
    }


def _markdown_table(problems: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| account | day | status | health | freshness | completeness | accuracy | issues |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in problems:
        issues = "; ".join(p["issues"]).replace("|", "/")
        lines.append(
            f"| {p['account_id']} | {p['date_day']} | {p['status']} | {p['health_score']} |"
            f" {p['freshness_score']} | {p['completeness_score']} | {p['accuracy_score']} | {issues} |"
        )
    return "\n".join(lines)


def evaluate_signal_health(
    label: str, rows: Iterable[HealthRow], first_day: date, last_day: date
) -> CheckVerdict:
    """The verdict for one platform (``label``) over the scored days ``first_day..last_day``.

    Passes when every account-day is healthy (or none was scored: a platform without accounts has
    nothing to distrust); fails with severity ``error`` when any account-day is unhealthy, else
    ``warn`` when some are degraded.
    """
    if first_day > last_day:
        raise ValueError(f"signal health window is empty: {first_day} > {last_day}")
    unknown = {row.status for row in rows} - set(STATUS_RANK)
    if unknown:
        raise ValueError(f"unknown signal health status {sorted(unknown)} (expected {sorted(STATUS_RANK)})")
    scored = [row for row in rows if first_day <= row.date_day <= last_day]
    problems = sorted(
        (row for row in scored if row.status != "healthy"),
        key=lambda row: (-STATUS_RANK[row.status], row.health_score, row.account_id, row.date_day),
    )
    unhealthy = [row for row in problems if row.status == "unhealthy"]
    degraded = [row for row in problems if row.status == "degraded"]
    window = f"{first_day.isoformat()}..{last_day.isoformat()}"
    listed = [_problem(row) for row in problems[:MAX_LISTED_PROBLEMS]]
    metadata: dict[str, Any] = {
        "window": window,
        "account_days_scored": len(scored),
        "accounts_scored": len({row.account_id for row in scored}),
        "unhealthy_account_days": len(unhealthy),
        "degraded_account_days": len(degraded),
        "min_health_score": min((row.health_score for row in scored), default=None),
        "accounts": sorted({row.account_id for row in problems}),
        "days": sorted({row.date_day.isoformat() for row in problems}),
        "problems": listed,
    }
    if len(problems) > len(listed):
        metadata["problems_not_listed"] = len(problems) - len(listed)
    if not problems:
        what = f"{len(scored)} account-days healthy" if scored else "no account-days scored"
        return CheckVerdict(True, "warn", f"{label} {window}: {what}", metadata)
    metadata["details"] = _markdown_table(listed)
    worst = problems[0]
    checks = sorted({str(issue.get("check")) for row in problems for issue in row.issues})
    counts = ", ".join(
        f"{len(group)} {name}" for name, group in (("unhealthy", unhealthy), ("degraded", degraded)) if group
    )
    description = (
        f"{label} {window}: {counts} of {len(scored)} account-days"
        f" (worst: account {worst.account_id} on {worst.date_day.isoformat()}, health {worst.health_score});"
        f" issues: {', '.join(checks) or 'none named'}"
    )
    return CheckVerdict(False, "error" if unhealthy else "warn", description, metadata)


@dataclass(frozen=True)
class SyncState:
    """The sync history of one account's stream that freshness is judged on."""

    account_id: str
    last_succeeded_at: datetime | None
    last_attempt_at: datetime
    last_status: str


@dataclass(frozen=True)
class FreshnessThresholds:
    """dbt source freshness: older than ``warn_after`` warns, older than ``error_after`` errs."""

    warn_after: timedelta | None
    error_after: timedelta | None

    def __post_init__(self) -> None:
        if self.warn_after is None and self.error_after is None:
            raise ValueError("freshness needs warn_after or error_after")
        if self.warn_after and self.error_after and self.warn_after > self.error_after:
            raise ValueError(f"warn_after {self.warn_after} is longer than error_after {self.error_after}")


_PERIOD_HOURS = {"minute": 1 / 60, "hour": 1, "day": 24}


def threshold_from_dbt(spec: dict[str, Any] | None) -> timedelta | None:
    """A dbt freshness bound (``{"count": 36, "period": "hour"}``) as a timedelta; None when unset."""
    if not spec or spec.get("count") is None:
        return None
    period = spec.get("period")
    if period not in _PERIOD_HOURS:
        raise ValueError(f"dbt freshness period must be one of {sorted(_PERIOD_HOURS)}, got {period!r}")
    return timedelta(hours=float(spec["count"]) * _PERIOD_HOURS[period])


def _hours(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds() / 3600, 1)


def evaluate_freshness(
    label: str, states: Iterable[SyncState], now: datetime, thresholds: FreshnessThresholds
) -> CheckVerdict:
    """Every account's last succeeded sync against the thresholds, as of ``now``.

    An account that never succeeded counts as infinitely old. With no account at all nothing was
    synced (in the horizon the caller read): that fails too, as an error, for there is no fresh data.
    """
    states = list(states)
    warn_after, error_after = thresholds.warn_after, thresholds.error_after
    accounts: list[dict[str, Any]] = []
    worst: Severity | None = None
    for state in sorted(states, key=lambda s: s.account_id):
        age = None if state.last_succeeded_at is None else max(timedelta(0), now - state.last_succeeded_at)
        level: Severity | None = None
        if error_after is not None and (age is None or age > error_after):
            level = "error"
        elif warn_after is not None and (age is None or age > warn_after):
            level = "warn"
        if level == "error" or (level == "warn" and worst is None):
            worst = level
        accounts.append(
            {
                "account_id": state.account_id,
                "last_succeeded_at": state.last_succeeded_at.isoformat() if state.last_succeeded_at else None,
                "hours_since_success": _hours(age),
                "last_status": state.last_status,
                "stale": level,
            }
        )
    metadata: dict[str, Any] = {
        "now": now.isoformat(),
        "warn_after_hours": _hours(warn_after),
        "error_after_hours": _hours(error_after),
        "accounts_synced": len(accounts),
        "stale_accounts": [a["account_id"] for a in accounts if a["stale"]],
        "accounts": accounts,
    }
    ages = [a["hours_since_success"] for a in accounts if a["hours_since_success"] is not None]
    metadata["max_hours_since_success"] = max(ages, default=None)
    if not accounts:
        return CheckVerdict(
            False, "error", f"{label}: no sync of any account recorded (raw.sync_runs)", metadata
        )
    if worst is None:
        return CheckVerdict(
            True, "warn", f"{label}: {len(accounts)} accounts synced within the thresholds", metadata
        )
    stale = [a for a in accounts if a["stale"]]
    listed = ", ".join(
        f"{a['account_id']} ({'never' if a['hours_since_success'] is None else str(a['hours_since_success']) + ' h'})"
        for a in stale[:10]
    )
    bound = _hours(error_after if worst == "error" else warn_after)
    description = f"{label}: {len(stale)} of {len(accounts)} accounts without a succeeded sync for over {bound} h: {listed}"
    return CheckVerdict(False, worst, description, metadata)
