"""Which accounts' signal health lets the allocation move their budgets (pure; see :mod:`.plan`).

An account is excluded (its campaigns keep their budgets) when any day of the training window is
``unhealthy``, when its latest scored day is not ``healthy``, or when more than
``max_degraded_share`` of its scored days are ``degraded``. Accounts without health rows are
allocated and marked ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

AccountKey = tuple[str, str]


@dataclass(frozen=True)
class AccountHealth:
    platform: str
    account_id: str
    status: str  # worst over the training window: healthy / degraded / unhealthy / unknown
    latest_status: str | None
    latest_day: date | None
    days: int
    degraded_days: int
    unhealthy_days: int
    min_health_score: float | None
    excluded: bool
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "status": self.status,
            "latest_status": self.latest_status,
            "latest_day": None if self.latest_day is None else self.latest_day.isoformat(),
            "days": self.days,
            "degraded_days": self.degraded_days,
            "unhealthy_days": self.unhealthy_days,
            "min_health_score": self.min_health_score,
            "excluded": self.excluded,
            "reason": self.reason,
        }


def assess_account_health(
    health: pd.DataFrame | None,
    accounts: list[AccountKey],
    since: date,
    until: date,
    max_degraded_share: float,
) -> dict[AccountKey, AccountHealth]:
    """Each account's signal health over ``since..until`` and whether it is excluded (see module doc)."""
    out: dict[AccountKey, AccountHealth] = {}
    rows = pd.DataFrame() if health is None else health
    if not rows.empty:
        rows = rows[(rows["date_day"] >= since) & (rows["date_day"] <= until)]
    grouped = (
        {} if rows.empty else {(str(k[0]), str(k[1])): g for k, g in rows.groupby(["platform", "account_id"])}
    )
    for key in accounts:
        days = grouped.get(key)
        if days is None or days.empty:
            out[key] = AccountHealth(key[0], key[1], "unknown", None, None, 0, 0, 0, None, False, None)
            continue
        days = days.sort_values("date_day")
        statuses = days["status"].astype(str)
        degraded, unhealthy = int((statuses == "degraded").sum()), int((statuses == "unhealthy").sum())
        latest = str(statuses.iloc[-1])
        latest_day = days["date_day"].iloc[-1]
        scores = pd.to_numeric(days["health_score"], errors="coerce").dropna()
        reason = None
        if unhealthy:
            reason = f"signal health unhealthy on {unhealthy} day(s) of the training window"
        elif latest != "healthy":
            reason = f"signal health {latest} on its latest day ({latest_day.isoformat()})"
        elif degraded > max_degraded_share * len(days):
            reason = (
                f"signal health degraded on {degraded} of {len(days)} days of the training window "
                f"(more than {max_degraded_share:.0%})"
            )
        worst = "unhealthy" if unhealthy else "degraded" if degraded or latest == "degraded" else "healthy"
        out[key] = AccountHealth(
            platform=key[0],
            account_id=key[1],
            status=worst,
            latest_status=latest,
            latest_day=latest_day,
            days=len(days),
            degraded_days=degraded,
            unhealthy_days=unhealthy,
            min_health_score=None if scores.empty else round(float(scores.min()), 2),
            excluded=reason is not None,
            reason=None if reason is None else reason + "; budgets kept, not reallocated",
        )
    return out
