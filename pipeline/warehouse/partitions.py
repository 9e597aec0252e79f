"""Monthly range partitions of the raw tables that grow with time (declarative PostgreSQL partitioning).

A windowed raw table (``raw.<platform>_<stream>`` with a date or local-hour window column) is
partitioned by month on that column: ``raw.meta_ads_insights_daily_p2026_10`` holds October 2026.
The loader creates the months a sync's window touches before it copies (a window is validated, so
no row can fall outside them), and the retention job drops whole months past their policy instead
of deleting rows one by one. A month's partition is cheap to drop, to vacuum and to skip: queries
on a few recent days (window replacement, incremental models) read only their months.

The fact marts that grow with time are partitioned the same way by dbt
(dbt_project/macros/month_partitions.sql), with the same partition names and bounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    first = month_start(day)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def months(since: date, until: date) -> Iterator[date]:
    """The first day of every month ``since..until`` touches, in order."""
    month = month_start(since)
    while month <= until:
        yield month
        month = next_month(month)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y_%m}"


@dataclass(frozen=True)
class Partition:
    schema: str
    name: str
    lower: date
    upper: date  # exclusive


def is_partitioned(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute(
        "select c.relkind = 'p' from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s",
        (schema, table),
    ).fetchone()
    return bool(row and row[0])


def ensure_month_partitions(
    conn: psycopg.Connection, schema: str, table: str, since: date, until: date
) -> int:
    """Create the missing monthly partitions of ``schema.table`` for ``since..until``; how many.

    A partition of a parent with row-level security (a mart) gets it too, without a policy: read
    directly, even where granted by mistake, it shows no rows to anyone but its owner."""
    existing = {p.name for p in partitions(conn, schema, table)}
    parent_rls = conn.execute(
        "select relrowsecurity from pg_class where oid = %s::regclass", (f"{schema}.{table}",)
    ).fetchone()[0]
    created = 0
    for month in months(since, until):
        name = partition_name(table, month)
        if name in existing:
            continue
        conn.execute(
            sql.SQL(
                "create table if not exists {part} partition of {parent} for values from ({lower}) to ({upper})"
            ).format(
                part=sql.Identifier(schema, name),
                parent=sql.Identifier(schema, table),
                lower=sql.Literal(month.isoformat()),
                upper=sql.Literal(next_month(month).isoformat()),
            )
        )
        if parent_rls:
            conn.execute(
                sql.SQL("alter table {} enable row level security").format(sql.Identifier(schema, name))
            )
        created += 1
    return created


def partitions(conn: psycopg.Connection, schema: str, table: str) -> list[Partition]:
    """The monthly partitions of ``schema.table`` (by their names' months), oldest first."""
    rows = conn.execute(
        "select child.relname from pg_inherits i"
        " join pg_class parent on parent.oid = i.inhparent"
        " join pg_namespace n on n.oid = parent.relnamespace"
        " join pg_class child on child.oid = i.inhrelid"
        " where n.nspname = %s and parent.relname = %s",
        (schema, table),
    ).fetchall()
    found = []
    prefix = f"{table}_p"
    for (name,) in rows:
        suffix = name[len(prefix) :] if name.startswith(prefix) else ""
        try:
            lower = date(int(suffix[:4]), int(suffix[5:7]), 1)
        except ValueError:
            continue  # not one of ours: left alone
        found.append(Partition(schema, name, lower, next_month(lower)))
    return sorted(found, key=lambda p: p.lower)


def partition_table_in_place(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    create_partitioned: sql.Composable,
    window_column: str,
) -> int:
    """Turn an unpartitioned ``schema.table`` into a monthly-partitioned one with the same rows.

    ``create_partitioned`` creates the new parent under the table's name once the old table is
    renamed away. Runs in the caller's transaction (all or nothing); returns the rows moved. Costs
    one copy of the table, once, on the first start after the upgrade.
    """
    old = f"{table}_unpartitioned"
    conn.execute(
        sql.SQL("alter table {} rename to {}").format(sql.Identifier(schema, table), sql.Identifier(old))
    )
    # Its primary key and indexes keep their names: free them for the new table's. Shortened and
    # numbered, because a name at PostgreSQL's 63-character limit would be cut back to itself.
    for number, (index,) in enumerate(
        conn.execute(
            "select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = %s::regclass",
            (f"{schema}.{old}",),
        ).fetchall()
    ):
        conn.execute(
            sql.SQL("alter index {} rename to {}").format(
                sql.Identifier(schema, index), sql.Identifier(f"{index[:50]}_old{number}")
            )
        )
    conn.execute(create_partitioned)
    columns = sql.SQL(", ").join(
        sql.Identifier(name)
        for (name,) in conn.execute(
            "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped"
            " order by attnum",
            (f"{schema}.{table}",),
        ).fetchall()
    )
    bounds = conn.execute(
        sql.SQL("select min({c})::date, max({c})::date from {t}").format(
            c=sql.Identifier(window_column), t=sql.Identifier(schema, old)
        )
    ).fetchone()
    if bounds and bounds[0] is not None:
        ensure_month_partitions(conn, schema, table, bounds[0], bounds[1])
    moved = conn.execute(
        sql.SQL("insert into {new} ({columns}) select {columns} from {old}").format(
            new=sql.Identifier(schema, table), columns=columns, old=sql.Identifier(schema, old)
        )
    ).rowcount
    conn.execute(sql.SQL("drop table {}").format(sql.Identifier(schema, old)))
    return moved


def partition_like_in_place(conn: psycopg.Connection, schema: str, table: str, window_column: str) -> int:
    """``partition_table_in_place`` for a table whose DDL lives elsewhere (a dbt mart built before its
    model was partitioned): the new parent copies the old table's columns, defaults, indexes and
    column comments. Views on the table go (their definitions name the old table, which is dropped);
    dbt builds them again on its next run. Returns the rows moved."""
    for (view,) in conn.execute(
        "select distinct r.ev_class::regclass::text from pg_depend d join pg_rewrite r on r.oid = d.objid"
        " where d.refobjid = %s::regclass and r.ev_class <> d.refobjid",
        (f"{schema}.{table}",),
    ).fetchall():
        conn.execute(sql.SQL("drop view if exists {} cascade").format(sql.SQL(view)))
    create = sql.SQL("create table {new} (like {old} including all) partition by range ({column})").format(
        new=sql.Identifier(schema, table),
        old=sql.Identifier(schema, f"{table}_unpartitioned"),
        column=sql.Identifier(window_column),
    )
    return partition_table_in_place(conn, schema, table, create, window_column)
