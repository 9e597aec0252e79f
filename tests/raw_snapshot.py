"""What a run left in the raw tables, to compare with a clean run: per table its row count, a digest of
its keys and a digest of its payloads (so a doubled, lost or stale row shows), and the payloads'
spend summed where records carry one."""

from __future__ import annotations

import psycopg
from psycopg import sql

BOOKKEEPING = ("payload", "_sync_id", "_extracted_at")


def raw_tables(conn: psycopg.Connection, platform: str | None = None) -> dict[str, list[str]]:
    """Raw tables holding payloads (``platform``'s only, if given) -> their key columns."""
    rows = conn.execute(
        """select c.table_name, array_agg(c.column_name::text order by c.ordinal_position)
           from information_schema.columns c
           where c.table_schema = 'raw' and c.table_name like %s
           group by c.table_name
           having bool_or(c.column_name = 'payload') and bool_or(c.column_name = '_sync_id')""",
        (f"{platform}\\_%" if platform else "%",),
    ).fetchall()
    return {table: [c for c in columns if c not in BOOKKEEPING] for table, columns in sorted(rows)}


def raw_snapshot(
    conn: psycopg.Connection, platform: str | None = None, *, lineage: tuple[str, ...] = ()
) -> dict[str, tuple]:
    """``lineage``: payload fields naming where a row came from (a file's name and line), left out."""
    snapshot: dict[str, tuple] = {}
    for table, keys in raw_tables(conn, platform).items():
        key_text = sql.SQL(" || '|' || ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in keys)
        order = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
        snapshot[table] = conn.execute(
            sql.SQL(
                "select count(*), md5(coalesce(string_agg({keys}, ',' order by {order}), '')),"
                " md5(coalesce(string_agg((payload - {lineage}::text[])::text, ',' order by {order}), '')),"
                " sum(case when jsonb_typeof(payload->'spend') in ('number', 'string')"
                " and payload->>'spend' ~ '^-?[0-9.]+$' then (payload->>'spend')::numeric end)"
                " from raw.{table}"
            ).format(
                keys=key_text, order=order, table=sql.Identifier(table), lineage=sql.Literal(list(lineage))
            )
        ).fetchone()
    return snapshot
