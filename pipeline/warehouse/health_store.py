"""Reads behind the data-health checks: scored account-days and sync histories."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

import psycopg

from pipeline.analytics.health_checks import HealthRow, SyncState
from pipeline.config import DEFAULT_TENANT

SIGNAL_HEALTH_TABLE = "marts.fct_signal_health_daily"
# How the checks name an account: two tenants may hold the same id, so another tenant's is prefixed
# (as in the syncs' metadata: ``acme/111``); the default tenant's stays bare.
ACCOUNT_LABEL = (
    f"case when tenant_id = '{DEFAULT_TENANT}' then account_id else tenant_id || '/' || account_id end"
    " as account_id"
)


def signal_health_rows(
    conn: psycopg.Connection,
    first_day: date,
    last_day: date,
    *,
    platform: str | None = None,
    exclude_platforms: Collection[str] = (),
) -> list[HealthRow]:
    """Account-days scored in ``first_day..last_day``: one platform, or every platform but the excluded."""
    clauses = ["date_day between %(first_day)s and %(last_day)s"]
    if platform is not None:
        clauses.append("platform = %(platform)s")
    if exclude_platforms:
        clauses.append("platform <> all(%(excluded)s)")
    rows = conn.execute(
        f"select platform, {ACCOUNT_LABEL}, date_day, status, health_score, freshness_score,"
        " completeness_score, accuracy_score, issues"
        f" from {SIGNAL_HEALTH_TABLE} where {' and '.join(clauses)}"
        " order by platform, account_id, date_day",
        {
            "first_day": first_day,
            "last_day": last_day,
            "platform": platform,
            "excluded": list(exclude_platforms),
        },
    ).fetchall()
    return [
        HealthRow(
            platform=r[0],
            account_id=r[1],
            date_day=r[2],
            status=r[3],
            health_score=int(r[4]),
            freshness_score=int(r[5]),
            completeness_score=int(r[6]),
            accuracy_score=int(r[7]),
            issues=tuple(r[8] or ()),
        )
        for r in rows
    ]


def latest_scored_day(conn: psycopg.Connection) -> date | None:
    """The newest as-of day signal health was scored for (None before the first build)."""
    row = conn.execute(f"select max(as_of_day) from {SIGNAL_HEALTH_TABLE}").fetchone()
    return row[0] if row else None


def sync_states(
    conn: psycopg.Connection, platform: str, stream: str, *, attempted_since: datetime
) -> list[SyncState]:
    """Per account of ``platform``'s ``stream``: the last succeeded sync and the last attempt.

    Only accounts with an attempt since ``attempted_since``: an account no connection syncs any
    more (removed, disabled) stops counting instead of staying stale for ever. One state per tenant
    of an account id: two tenants syncing the same account never hide each other's staleness.
    """
    rows = conn.execute(
        f"""
        select
            {ACCOUNT_LABEL},
            max(finished_at) filter (where status = 'succeeded') as last_succeeded_at,
            max(started_at) as last_attempt_at,
            (array_agg(status order by started_at desc))[1] as last_status
        from raw.sync_runs
        where platform = %s and stream = %s
        group by tenant_id, account_id
        having max(started_at) >= %s
        order by account_id, tenant_id
        """,
        (platform, stream, attempted_since),
    ).fetchall()
    return [SyncState(r[0], r[1], r[2], r[3]) for r in rows]
