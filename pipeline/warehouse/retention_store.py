"""Retention: what the warehouse keeps, and the job that drops the rest.

Policy (days kept, counted back from ``today``):

- hourly raw tables (every registered hourly stream): ``ADSIGNAL_RETENTION_HOURLY_RAW_DAYS``, default 35
  (enough to rebuild the hourly marts and to re-sync late hours);
- hourly marts: ``ADSIGNAL_RETENTION_HOURLY_DAYS``, default 7 (dbt's ``hourly_retention_days`` trims
  them on every build too; this covers a warehouse whose dbt has not run);
- ``raw.quarantine``: 90 days; ``app.audit_logs``: 2 years (730 days).

A table partitioned by month (the windowed raw tables, ``pipeline.warehouse.partitions``; the hourly
marts, dbt_project/macros/month_partitions.sql) loses its months that lie wholly before the cutoff by
dropping their partitions; only the rows of the month the cutoff falls in are deleted. Other tables
have their old rows deleted. One table per transaction; a dry run counts what would go and changes
nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from psycopg import sql

from pipeline.warehouse.partitions import partitions

HOURLY_MARTS = ("marts.fct_ad_performance_hourly", "marts.fct_campaign_performance_hourly")


@dataclass(frozen=True)
class RetentionRule:
    relation: str  # schema.table
    column: str  # a date or timestamp column
    keep_days: int
    why: str


@dataclass(frozen=True)
class RetentionResult:
    relation: str
    cutoff: date
    rows: int  # dropped (or, in a dry run, that would be)
    skipped: str | None = None  # why nothing was looked at
    partitions_dropped: int = 0  # whole months dropped (or, in a dry run, that would be)


def _days(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "")
    try:
        days = int(raw) if raw.strip() else default
    except ValueError:
        raise ValueError(f"{variable}={raw!r}: a whole number of days") from None
    if days < 1:
        raise ValueError(f"{variable}={days}: at least 1 day")
    return days


def retention_rules() -> list[RetentionRule]:
    from pipeline.connectors import CONNECTORS

    raw_days = _days("ADSIGNAL_RETENTION_HOURLY_RAW_DAYS", 35)
    mart_days = _days("ADSIGNAL_RETENTION_HOURLY_DAYS", 7)
    hourly_streams = sorted(
        {
            (stream.table, stream.window_column)
            for connector in CONNECTORS.values()
            for stream in connector.streams.values()
            if stream.is_hourly and stream.window_column
        }
    )
    return [
        *(RetentionRule(f"raw.{table}", column, raw_days, "hourly raw") for table, column in hourly_streams),
        *(RetentionRule(mart, "date_day", mart_days, "hourly mart") for mart in HOURLY_MARTS),
        RetentionRule("raw.quarantine", "quarantined_at", 90, "quarantined rows"),
        RetentionRule("app.audit_logs", "created_at", 730, "audit log"),
    ]


def apply_retention(
    conn: psycopg.Connection, today: date, *, dry_run: bool, rules: list[RetentionRule] | None = None
) -> list[RetentionResult]:
    """Drop (or count) every rule's rows older than its cutoff; a missing table is reported, not an error."""
    results = []
    for rule in rules or retention_rules():
        cutoff = today - timedelta(days=rule.keep_days - 1)
        schema, table = rule.relation.split(".", 1)
        if conn.execute("select to_regclass(%s)", (rule.relation,)).fetchone() == (None,):
            results.append(RetentionResult(rule.relation, cutoff, 0, skipped="not built yet"))
            continue
        where = sql.SQL("{} < %s").format(sql.Identifier(rule.column))
        target = sql.Identifier(schema, table)
        with conn.transaction():
            expired = [p for p in partitions(conn, schema, table) if p.upper <= cutoff]
            rows = 0
            for partition in expired:
                part = sql.Identifier(partition.schema, partition.name)
                rows += conn.execute(sql.SQL("select count(*) from {}").format(part)).fetchone()[0]
                if not dry_run:
                    conn.execute(sql.SQL("drop table {}").format(part))
            if dry_run:
                query = sql.SQL("select count(*) from {} where ").format(target) + where
                rows = conn.execute(query, (cutoff,)).fetchone()[0]
            else:
                rows += conn.execute(
                    sql.SQL("delete from {} where ").format(target) + where, (cutoff,)
                ).rowcount
        results.append(RetentionResult(rule.relation, cutoff, rows, partitions_dropped=len(expired)))
    return results
