"""Reads of the marts for the decision assets and the CLI: each returns a pandas frame of one mart's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import psycopg

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


def mart_frame(
    conn: psycopg.Connection,
    relation: str,
    columns: Sequence[str],
    since: date,
    until: date,
    *,
    order_by: str | None = None,
    numeric: Sequence[str] = (),
    parse_days: bool = True,
    tenant_id: str | None = None,
) -> pd.DataFrame:
    """``columns`` of a mart's rows with ``date_day`` between since and until (of ``tenant_id`` only,
    if given: every decision reads one tenant's rows): ``numeric`` columns as floats (numeric columns
    come back as Decimal), ``date_day`` as dates unless ``parse_days`` is off."""
    order = f" order by {order_by}" if order_by else ""
    tenant = " and tenant_id = %s" if tenant_id is not None else ""
    params = (since, until) if tenant_id is None else (since, until, tenant_id)
    cur = conn.execute(
        f"select {', '.join(columns)} from {relation} where date_day between %s and %s{tenant}{order}", params
    )
    frame = pd.DataFrame(cur.fetchall(), columns=list(columns))
    if numeric:
        frame[list(numeric)] = frame[list(numeric)].astype(float)
    if parse_days:
        frame["date_day"] = pd.to_datetime(frame["date_day"]).dt.date
    return frame


def campaign_daily_frame(
    conn: psycopg.Connection, since: date, until: date, *, tenant_id: str | None = None
) -> pd.DataFrame:
    """Campaign-day metrics from ``marts.fct_campaign_performance_daily`` for the detector (of
    ``tenant_id`` only, if given), with each account's name from ``marts.dim_ad_accounts``
    (account-level alerts are named after it)."""
    # tenant_id only to join the names: two tenants may hold the same account id (the frame keeps its columns).
    frame = mart_frame(
        conn,
        "marts.fct_campaign_performance_daily",
        ("tenant_id", *CAMPAIGN_DAILY_COLUMNS),
        since,
        until,
        order_by="date_day, platform, account_id, campaign_id, tenant_id",
        numeric=("fx_rate", "spend", "impressions", "clicks", "conversions", "conversion_value"),
        tenant_id=tenant_id,
    )
    # Without the dimension (a warehouse that built only the facts) the alerts name the account by its id.
    if conn.execute("select to_regclass('marts.dim_ad_accounts')").fetchone()[0] is None:
        return frame.drop(columns="tenant_id")
    account_key = ["tenant_id", "platform", "account_id"]
    names = pd.DataFrame(
        conn.execute(
            "select tenant_id, platform, account_id, account_name from marts.dim_ad_accounts"
        ).fetchall(),
        columns=[*account_key, "account_name"],
    )
    return frame.merge(names, on=account_key, how="left").drop(columns="tenant_id")


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


def signal_health_frame(
    conn: psycopg.Connection, since: date, until: date, *, tenant_id: str | None = None
) -> pd.DataFrame:
    """Account-day signal health from ``marts.fct_signal_health_daily`` (gates business alerts)."""
    return mart_frame(
        conn, "marts.fct_signal_health_daily", HEALTH_COLUMNS, since, until, tenant_id=tenant_id
    )


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


HOURLY_COLUMNS = (
    "hour_start_local",
    "hour_start_utc",
    "date_day",
    "hour_of_day",
    "platform",
    "account_id",
    "campaign_id",
    "campaign_name",
    "currency",
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
)


def campaign_hourly_frame(
    conn: psycopg.Connection, since: date, until: date, *, tenant_id: str | None = None
) -> pd.DataFrame:
    """Campaign-hours from ``marts.fct_campaign_performance_hourly`` (local days since..until)."""
    return mart_frame(
        conn,
        "marts.fct_campaign_performance_hourly",
        HOURLY_COLUMNS,
        since,
        until,
        order_by="platform, account_id, campaign_id, hour_start_utc",
        numeric=("spend", "impressions", "clicks", "conversions", "conversion_value"),
        parse_days=False,
        tenant_id=tenant_id,
    )


def campaign_budgets_frame(conn: psycopg.Connection, *, tenant_id: str | None = None) -> pd.DataFrame:
    """Campaign budgets and status from ``marts.dim_campaigns`` (the pacing detector's input), of
    ``tenant_id`` only if given."""
    cur = conn.execute(
        f"select {', '.join(BUDGET_COLUMNS)} from marts.dim_campaigns"
        " where not is_inferred and (%(tenant)s::text is null or tenant_id = %(tenant)s)",
        {"tenant": tenant_id},
    )
    frame = pd.DataFrame(cur.fetchall(), columns=list(BUDGET_COLUMNS))
    for column in ("daily_budget", "lifetime_budget"):
        frame[column] = frame[column].astype(float)
    return frame
