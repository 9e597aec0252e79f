"""Reads behind scheduled reports (one tenant's marts for a period) and the ``app.report_instances`` rows.

Every read filters ``tenant_id`` (the pipeline's role sees every tenant, so the filter is what keeps a
report to its own tenant) and the definition's platform / account filters. Money is the marts'
``*_reporting`` columns, in the tenant's reporting currency; numbers come back as ``Decimal`` so totals
equal the marts' sums exactly. Ratios divide sums (never average daily ratios) and are null when the
denominator is zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

FACT = "marts.fct_campaign_performance_daily"

# The measures every grouping shares; the ratios divide the sums.
_MEASURES = """
    coalesce(sum(spend_reporting), 0) as spend,
    coalesce(sum(impressions), 0) as impressions,
    coalesce(sum(clicks), 0) as clicks,
    coalesce(sum(conversions), 0) as conversions,
    coalesce(sum(conversion_value_reporting), 0) as conversion_value,
    sum(conversion_value_reporting) / nullif(sum(spend_reporting), 0) as roas,
    sum(spend_reporting) / nullif(sum(conversions), 0) as cpa,
    sum(clicks)::numeric / nullif(sum(impressions), 0) as ctr
"""
MEASURES: tuple[str, ...] = (
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
    "roas",
    "cpa",
    "ctr",
)


@dataclass(frozen=True)
class Scope:
    """Whose rows a report reads: one tenant, optionally some platforms / accounts only."""

    tenant_id: str
    platforms: Sequence[str] | None = None
    account_ids: Sequence[str] | None = None

    def where(self, start: date, end: date) -> tuple[str, dict[str, Any]]:
        sql = (
            "tenant_id = %(tenant)s and date_day between %(start)s and %(end)s"
            " and (%(platforms)s::text[] is null or platform = any(%(platforms)s::text[]))"
            " and (%(accounts)s::text[] is null or account_id = any(%(accounts)s::text[]))"
        )
        params = {
            "tenant": self.tenant_id,
            "start": start,
            "end": end,
            "platforms": list(self.platforms) if self.platforms else None,
            "accounts": list(self.account_ids) if self.account_ids else None,
        }
        return sql, params


def _rows(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(sql, params).fetchall())


def reporting_currencies(conn: psycopg.Connection, scope: Scope, start: date, end: date) -> list[str]:
    """The reporting currencies of the period's rows (one, unless the tenant's changed mid-period)."""
    where, params = scope.where(start, end)
    rows = conn.execute(f"select distinct reporting_currency from {FACT} where {where} order by 1", params)
    return [row[0] for row in rows.fetchall()]


def period_totals(conn: psycopg.Connection, scope: Scope, start: date, end: date) -> dict[str, Any]:
    """The period's totals and ratios (zeros and null ratios when it has no rows)."""
    where, params = scope.where(start, end)
    return _rows(conn, f"select {_MEASURES} from {FACT} where {where}", params)[0]


def totals_by_platform(
    conn: psycopg.Connection, scope: Scope, start: date, end: date
) -> list[dict[str, Any]]:
    """One row per platform, most spend first."""
    where, params = scope.where(start, end)
    return _rows(
        conn,
        f"select platform, {_MEASURES} from {FACT} where {where} group by platform order by spend desc, platform",
        params,
    )


def top_campaigns(
    conn: psycopg.Connection, scope: Scope, start: date, end: date, limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` campaigns with the most spend in the period."""
    where, params = scope.where(start, end)
    return _rows(
        conn,
        f"""
        select platform, account_id, campaign_id, max(campaign_name) as campaign_name, {_MEASURES}
        from {FACT} where {where}
        group by platform, account_id, campaign_id
        order by spend desc, platform, account_id, campaign_id
        limit %(limit)s
        """,
        {**params, "limit": limit},
    )


def daily_trend(conn: psycopg.Connection, scope: Scope, start: date, end: date) -> list[dict[str, Any]]:
    """Spend and conversions for every day of the period (zero on days without rows, so charts do not
    join across a gap)."""
    where, params = scope.where(start, end)
    return _rows(
        conn,
        f"""
        with days as (
            select generate_series(%(start)s::date, %(end)s::date, interval '1 day')::date as date_day
        ),
        facts as (
            select date_day, sum(spend_reporting) as spend, sum(conversions) as conversions
            from {FACT} where {where} group by date_day
        )
        select days.date_day, coalesce(facts.spend, 0) as spend, coalesce(facts.conversions, 0) as conversions
        from days left join facts using (date_day)
        order by days.date_day
        """,
        params,
    )


def campaign_movers(
    conn: psycopg.Connection,
    scope: Scope,
    period: tuple[date, date],
    previous: tuple[date, date],
    limit: int,
) -> list[dict[str, Any]]:
    """The ``limit`` campaigns whose spend changed most (either way) from ``previous`` to ``period``."""
    where_now, params = scope.where(*period)
    where_before, params_before = scope.where(*previous)
    where_before = where_before.replace("%(start)s", "%(previous_start)s").replace(
        "%(end)s", "%(previous_end)s"
    )
    params = {**params, "previous_start": params_before["start"], "previous_end": params_before["end"]}
    return _rows(
        conn,
        f"""
        with now as (
            select platform, account_id, campaign_id, max(campaign_name) as campaign_name,
                   sum(spend_reporting) as spend
            from {FACT} where {where_now} group by platform, account_id, campaign_id
        ),
        before as (
            select platform, account_id, campaign_id, max(campaign_name) as campaign_name,
                   sum(spend_reporting) as spend
            from {FACT} where {where_before} group by platform, account_id, campaign_id
        )
        select platform, account_id, campaign_id,
               coalesce(now.campaign_name, before.campaign_name) as campaign_name,
               coalesce(before.spend, 0) as previous_spend,
               coalesce(now.spend, 0) as spend,
               coalesce(now.spend, 0) - coalesce(before.spend, 0) as change,
               (coalesce(now.spend, 0) - before.spend) / nullif(before.spend, 0) as change_ratio
        from now full join before using (platform, account_id, campaign_id)
        where coalesce(now.spend, 0) <> coalesce(before.spend, 0)
        order by abs(coalesce(now.spend, 0) - coalesce(before.spend, 0)) desc, platform, account_id, campaign_id
        limit %(limit)s
        """,
        {**params, "limit": limit},
    )


def live_alerts(conn: psycopg.Connection, scope: Scope, limit: int) -> list[dict[str, Any]]:
    """Open and acknowledged alerts of the scope's platforms / accounts, most severe and most recent first."""
    return _rows(
        conn,
        """
        select alert_id, severity, status, platform, account_id, entity_name, entity_id, title,
               last_detected_at
        from app.alerts
        where tenant_id = %(tenant)s and status in ('open', 'acknowledged')
          and (%(platforms)s::text[] is null or platform = any(%(platforms)s::text[]))
          and (%(accounts)s::text[] is null or account_id = any(%(accounts)s::text[]))
        order by array_position(array['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'], severity), last_detected_at desc,
                 alert_id
        limit %(limit)s
        """,
        {
            "tenant": scope.tenant_id,
            "platforms": list(scope.platforms) if scope.platforms else None,
            "accounts": list(scope.account_ids) if scope.account_ids else None,
            "limit": limit,
        },
    )


def tenant_name(conn: psycopg.Connection, tenant_id: str) -> str | None:
    row = conn.execute("select name from app.tenants where tenant_id = %s", (tenant_id,)).fetchone()
    return row[0] if row else None


# --- app.report_definitions ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    created: list[str]
    updated: list[str]
    unchanged: list[str]


def import_definitions(
    conn: psycopg.Connection, definitions: Sequence[tuple[str, str, dict[str, Any]]], source: str | None
) -> ImportSummary:
    """Create or update ``(tenant_id, report_name, definition)`` rows by name, in one transaction."""
    summary = ImportSummary([], [], [])
    with conn.transaction():
        for tenant_id, name, definition in definitions:
            row = conn.execute(
                "select definition from app.report_definitions where tenant_id = %s and report_name = %s"
                " for update",
                (tenant_id, name),
            ).fetchone()
            label = f"{tenant_id}/{name}"
            if row is not None and row[0] == definition:
                summary.unchanged.append(label)
                continue
            conn.execute(
                """
                insert into app.report_definitions (tenant_id, report_name, definition, source)
                values (%s, %s, %s, %s)
                on conflict (tenant_id, report_name) do update set
                    definition = excluded.definition, source = excluded.source, updated_at = now()
                """,
                (tenant_id, name, Jsonb(definition), source),
            )
            (summary.updated if row is not None else summary.created).append(label)
    return summary


def stored_definitions(
    conn: psycopg.Connection, tenant_id: str, report_name: str | None = None
) -> list[tuple[str, dict[str, Any], str | None, datetime]]:
    """``(report_name, definition, source, updated_at)`` of a tenant's stored reports, by name."""
    rows = conn.execute(
        """
        select report_name, definition, source, updated_at from app.report_definitions
        where tenant_id = %s and (%s::text is null or report_name = %s)
        order by report_name
        """,
        (tenant_id, report_name, report_name),
    ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


# --- app.report_instances --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInstance:
    instance_id: uuid.UUID
    tenant_id: str
    report_name: str
    period_start: date
    period_end: date
    status: str
    files: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    error: str | None
    created_at: datetime
    updated_at: datetime


_INSTANCE_COLUMNS = (
    "instance_id, tenant_id, report_name, period_start, period_end, status, files, deliveries, error,"
    " created_at, updated_at"
)


def save_instance(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    report_name: str,
    period_start: date,
    period_end: date,
    status: str,
    files: Sequence[dict[str, Any]],
    deliveries: Sequence[dict[str, Any]],
    error: str | None,
) -> ReportInstance:
    """Record a run; a run of a period that already has an instance replaces it (same id, new content)."""
    row = conn.execute(
        f"""
        insert into app.report_instances
            (tenant_id, report_name, period_start, period_end, status, files, deliveries, error)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (tenant_id, report_name, period_start, period_end) do update set
            status = excluded.status, files = excluded.files, deliveries = excluded.deliveries,
            error = excluded.error, updated_at = now()
        returning {_INSTANCE_COLUMNS}
        """,
        (
            tenant_id,
            report_name,
            period_start,
            period_end,
            status,
            Jsonb(list(files)),
            Jsonb(list(deliveries)),
            error,
        ),
    ).fetchone()
    assert row is not None
    return ReportInstance(*row)


def instance_for_period(
    conn: psycopg.Connection, tenant_id: str, report_name: str, period_start: date, period_end: date
) -> ReportInstance | None:
    """The period's recorded instance, if it ran before (its deliveries decide what a re-run skips)."""
    row = conn.execute(
        f"""
        select {_INSTANCE_COLUMNS} from app.report_instances
        where tenant_id = %s and report_name = %s and period_start = %s and period_end = %s
        """,
        (tenant_id, report_name, period_start, period_end),
    ).fetchone()
    return ReportInstance(*row) if row else None


def report_instances(
    conn: psycopg.Connection, tenant_id: str, report_name: str | None = None
) -> list[ReportInstance]:
    """A tenant's instances (of one report if named), latest period first."""
    rows = conn.execute(
        f"""
        select {_INSTANCE_COLUMNS} from app.report_instances
        where tenant_id = %s and (%s::text is null or report_name = %s)
        order by period_end desc, report_name
        """,
        (tenant_id, report_name, report_name),
    ).fetchall()
    return [ReportInstance(*row) for row in rows]


def as_decimal(value: Any) -> Decimal:
    """A measure as Decimal (psycopg returns numeric as Decimal, sums of bigints too)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))
