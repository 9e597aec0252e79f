"""The measured effect of an executed recommendation: the campaign's numbers before vs after.

Compares the ``days`` complete days before the day the change was executed with the ``days`` complete
days after it (the execution day itself is mixed, so it is left out). Not a causal estimate — seasonality
and everything else that changed count too — but the number a person reviewing the decision asks for.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd


def _summary(rows: pd.DataFrame, days: int) -> dict[str, float | int | None]:
    spend = float(rows["spend"].sum())
    conversions = float(rows["conversions"].sum())
    value = float(rows["conversion_value"].sum())
    clicks = float(rows["clicks"].sum())
    return {
        "days_with_data": int(rows["date_day"].nunique()),
        "spend": round(spend, 2),
        "avg_daily_spend": round(spend / days, 2),
        "conversions": round(conversions, 2),
        "conversion_value": round(value, 2),
        "clicks": round(clicks, 2),
        "roas": round(value / spend, 4) if spend > 0 else None,
        "cpa": round(spend / conversions, 2) if conversions > 0 else None,
    }


def _change(before: float | int | None, after: float | int | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return round(float(after) / float(before) - 1.0, 4)


def measure_effect(
    campaign_daily: pd.DataFrame,
    *,
    platform: str,
    account_id: str,
    campaign_id: str,
    executed_on: date,
    days: int,
    last_complete_day: date,
) -> dict[str, Any] | None:
    """Before/after figures, or None while fewer than ``days`` complete days have passed since execution."""
    after_end = executed_on + timedelta(days=days)
    if after_end > last_complete_day:
        return None
    rows = campaign_daily[
        (campaign_daily["platform"] == platform)
        & (campaign_daily["account_id"] == account_id)
        & (campaign_daily["campaign_id"] == campaign_id)
    ]
    before_start = executed_on - timedelta(days=days)
    before = rows[(rows["date_day"] >= before_start) & (rows["date_day"] < executed_on)]
    after = rows[(rows["date_day"] > executed_on) & (rows["date_day"] <= after_end)]
    before_summary, after_summary = _summary(before, days), _summary(after, days)
    return {
        "method": "before_after",
        "executed_on": executed_on.isoformat(),
        "before_window": [before_start.isoformat(), (executed_on - timedelta(days=1)).isoformat()],
        "after_window": [(executed_on + timedelta(days=1)).isoformat(), after_end.isoformat()],
        "before": before_summary,
        "after": after_summary,
        "change": {
            key: _change(before_summary[key], after_summary[key])
            for key in ("avg_daily_spend", "conversions", "conversion_value", "roas", "cpa")
        },
    }
