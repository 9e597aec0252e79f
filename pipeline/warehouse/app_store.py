"""Reads of the marts and writes to ``app.*`` used by the decision assets and the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date
from typing import Any, Protocol

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

CAMPAIGN_DAILY_COLUMNS = (
    "date_day",
    "platform",
    "account_id",
    "campaign_id",
    "campaign_name",
    "currency",
    "fx_rate",
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
)


class AlertLike(Protocol):
    alert_type: str
    severity: str
    platform: str
    account_id: str | None
    entity_level: str
    entity_id: str
    entity_name: str | None
    metric: str
    value: float | None
    baseline: float | None
    threshold: float | None
    window_start: date
    window_end: date
    title: str
    message: str
    evidence: dict[str, Any]
    suppressed_reason: str | None


def campaign_daily_frame(conn: psycopg.Connection, since: date, until: date) -> pd.DataFrame:
    """Campaign-day metrics from ``marts.fct_campaign_performance_daily`` for the detector."""
    cur = conn.execute(
        f"select {', '.join(CAMPAIGN_DAILY_COLUMNS)} from marts.fct_campaign_performance_daily"
        " where date_day between %s and %s order by date_day, platform, account_id, campaign_id",
        (since, until),
    )
    frame = pd.DataFrame(cur.fetchall(), columns=list(CAMPAIGN_DAILY_COLUMNS))
    numeric = ["fx_rate", "spend", "impressions", "clicks", "conversions", "conversion_value"]
    frame[numeric] = frame[numeric].astype(float)
    frame["date_day"] = pd.to_datetime(frame["date_day"]).dt.date
    return frame


HEALTH_COLUMNS = (
    "date_day",
    "platform",
    "account_id",
    "health_score",
    "status",
    "freshness_score",
    "completeness_score",
    "accuracy_score",
    "issues",
)


def signal_health_frame(conn: psycopg.Connection, since: date, until: date) -> pd.DataFrame:
    """Account-day signal health from ``marts.fct_signal_health_daily`` (gates business alerts)."""
    cur = conn.execute(
        f"select {', '.join(HEALTH_COLUMNS)} from marts.fct_signal_health_daily where date_day between %s and %s",
        (since, until),
    )
    frame = pd.DataFrame(cur.fetchall(), columns=list(HEALTH_COLUMNS))
    frame["date_day"] = pd.to_datetime(frame["date_day"]).dt.date
    return frame


BUDGET_COLUMNS = (
    "platform",
    "account_id",
    "campaign_id",
    "status",
    "daily_budget",
    "lifetime_budget",
    "start_date",
    "end_date",
)


def campaign_budgets_frame(conn: psycopg.Connection) -> pd.DataFrame:
    """Campaign budgets and status from ``marts.dim_campaigns`` (the pacing detector's input)."""
    cur = conn.execute(f"select {', '.join(BUDGET_COLUMNS)} from marts.dim_campaigns where not is_inferred")
    frame = pd.DataFrame(cur.fetchall(), columns=list(BUDGET_COLUMNS))
    for column in ("daily_budget", "lifetime_budget"):
        frame[column] = frame[column].astype(float)
    return frame


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def upsert_alerts(
    conn: psycopg.Connection, alerts: Iterable[AlertLike], *, tenant_id: str, run_id: str | None
) -> dict[str, int]:
    """Open an alert per (entity, type), or refresh the live one; returns counts opened/updated."""
    counts = {"opened": 0, "updated": 0}
    for alert in alerts:
        evidence = _jsonable(asdict(alert)["evidence"])  # type: ignore[call-overload]
        row = conn.execute(
            """
            insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level,
                entity_id, entity_name, title, message, metric, current_value, baseline_value, threshold,
                window_start, window_end, evidence, signal_health, run_id, status, suppressed_reason)
            values (%(tenant)s, %(type)s, %(severity)s, %(platform)s, %(account)s, %(level)s, %(entity)s,
                %(name)s, %(title)s, %(message)s, %(metric)s, %(value)s, %(baseline)s, %(threshold)s,
                %(ws)s, %(we)s, %(evidence)s, %(health)s, %(run)s,
                case when %(held)s::text is null then 'open' else 'suppressed' end, %(held)s)
            on conflict (tenant_id, alert_type, platform, entity_level, entity_id)
                where status in ('open', 'acknowledged', 'suppressed')
            do update set severity = excluded.severity, title = excluded.title, message = excluded.message,
                current_value = excluded.current_value, baseline_value = excluded.baseline_value,
                threshold = excluded.threshold, window_start = excluded.window_start,
                window_end = excluded.window_end, evidence = excluded.evidence,
                signal_health = excluded.signal_health, run_id = excluded.run_id,
                suppressed_reason = excluded.suppressed_reason,
                -- a person's acknowledgement survives re-detection; holding follows the data
                status = case when excluded.suppressed_reason is not null then 'suppressed'
                              when app.alerts.status = 'acknowledged' then 'acknowledged'
                              else 'open' end,
                last_detected_at = now(),
                -- a re-run over the same window is not a new detection
                detection_count = app.alerts.detection_count
                    + (excluded.window_end > app.alerts.window_end)::int
            returning (xmax = 0) as inserted
            """,
            {
                "tenant": tenant_id,
                "type": alert.alert_type,
                "severity": alert.severity,
                "platform": alert.platform,
                "account": alert.account_id,
                "level": alert.entity_level,
                "entity": alert.entity_id,
                "name": alert.entity_name,
                "title": alert.title,
                "message": alert.message,
                "metric": alert.metric,
                "value": alert.value,
                "baseline": alert.baseline,
                "threshold": alert.threshold,
                "ws": alert.window_start,
                "we": alert.window_end,
                "evidence": Jsonb(evidence),
                "health": Jsonb(evidence.get("signal_health")),
                "run": run_id,
                "held": alert.suppressed_reason,
            },
        ).fetchone()
        counts["opened" if row and row[0] else "updated"] += 1
    return counts
