"""Where an imported file's rows meet a connector's: the days a platform's own connector also has.

The dbt unions keep a connector's rows for an account-day and leave a file's rows of that account-day
out (``union_platform_models``; the warning test ``warn_file_rows_left_out_for_connector_rows``
lists them after a build). An import says so up front, per account, from the connector's raw table.
"""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg import sql

from pipeline.config import DEFAULT_TENANT
from pipeline.platforms import PLATFORM_NAMES, platform_spec


def connector_days(
    conn: psycopg.Connection,
    platform: str,
    account_id: str,
    since: date,
    until: date,
    tenant_id: str = DEFAULT_TENANT,
) -> int:
    """How many days of ``since..until`` the platform's connector has loaded for the tenant's account
    (0 for a platform without a connector: every file row of it reaches the marts)."""
    if platform not in PLATFORM_NAMES:
        return 0
    spec = platform_spec(platform)
    daily = [
        s for s in spec.connector_class().streams.values()
        if s.window_key is not None and s.window_key.pg_type == "date" and not s.is_hourly
    ]  # fmt: skip
    if not daily:
        return 0
    stream = daily[0]
    query = sql.SQL(
        "select count(distinct {day}) from raw.{table}"
        " where tenant_id = %s and account_id = %s and {day} between %s and %s"
    ).format(day=sql.Identifier(stream.window_column), table=sql.Identifier(stream.table))
    try:
        with conn.transaction():
            (days,) = conn.execute(
                query, (tenant_id, spec.canonical_account_id(account_id), since, until)
            ).fetchone()
    except psycopg.errors.UndefinedTable:  # never migrated for this connector: nothing to meet
        return 0
    return int(days)
