"""Segments (migration 0019): definitions, the profile features they are evaluated on, membership."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from pipeline.analytics.segments import COMPUTED_TRAITS, ORDER_EVENT, Segment, event_column
from pipeline.warehouse.audit import audit


@dataclass(frozen=True)
class StoredSegment:
    segment_id: int
    name: str
    description: str
    definition: dict[str, Any]
    enabled: bool
    profile_count: int | None
    last_computed_at: datetime | None


def upsert_segments(
    conn: psycopg.Connection, segments: Sequence[Segment], *, tenant_id: str, source: str | None, actor: str
) -> dict[str, list[str]]:
    """Create or update by name (a definition that did not change is left alone)."""
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    with conn.transaction():
        for segment in segments:
            definition = segment.model_dump(mode="json", exclude_defaults=False)
            row = conn.execute(
                "select segment_id, definition from app.cdp_segments where tenant_id = %s and name = %s",
                (tenant_id, segment.name),
            ).fetchone()
            if row and row[1] == definition:
                outcome["unchanged"].append(segment.name)
                continue
            conn.execute(
                """insert into app.cdp_segments (tenant_id, name, description, definition, source)
                   values (%s, %s, %s, %s, %s)
                   on conflict (tenant_id, name) do update set description = excluded.description,
                       definition = excluded.definition, source = excluded.source, updated_at = now()""",
                (tenant_id, segment.name, segment.description, Jsonb(definition), source),
            )
            outcome["updated" if row else "created"].append(segment.name)
            audit(conn, tenant_id=tenant_id, actor=actor, event="segment." + ("updated" if row else "created"),
                  object_type="segment", object_id=segment.name)  # fmt: skip
    return outcome


def list_segments(
    conn: psycopg.Connection, tenant_id: str, *, enabled_only: bool = False
) -> list[StoredSegment]:
    rows = conn.execute(
        """select segment_id, name, description, definition, enabled, profile_count, last_computed_at
           from app.cdp_segments where tenant_id = %s and (enabled or not %s) order by name""",
        (tenant_id, enabled_only),
    ).fetchall()
    return [StoredSegment(*row) for row in rows]


def profile_features(
    conn: psycopg.Connection, tenant_id: str, as_of: datetime, windows: Sequence[tuple[str, int]]
) -> pd.DataFrame:
    """One row per live profile: ``canonical_id``, ``traits`` (the latest value of every trait its
    identify calls gave, over the last 365 days), the computed traits and one count per (event, days)
    window. Events reach a profile through their user id, else their anonymous id."""
    window_columns = [
        sql.SQL(
            "count(*) filter (where ev.event = {} and ev.at > {} - make_interval(days => {})) as {}"
        ).format(
            sql.Literal(event),
            sql.Placeholder("as_of"),
            sql.Literal(days),
            sql.Identifier(event_column(event, days)),
        )
        for event, days in windows
    ]
    query = sql.SQL("""
        with ev as (
            select coalesce(iu.canonical_id, ia.canonical_id) as canonical_id, e.event, e.type,
                   e."timestamp" as at, e.traits,
                   case when jsonb_typeof(e.properties -> 'revenue') = 'number'
                        then (e.properties ->> 'revenue')::numeric end as revenue
            from raw.cdp_events e
            left join app.cdp_identities iu
                on iu.tenant_id = e.tenant_id and iu.kind = 'user_id' and iu.value = e.user_id
            left join app.cdp_identities ia
                on ia.tenant_id = e.tenant_id and ia.kind = 'anonymous_id' and ia.value = e.anonymous_id
            where e.tenant_id = %(tenant)s and e."timestamp" <= %(as_of)s
              and e."timestamp" > %(as_of)s - interval '365 days'
        ),
        facts as (
            select canonical_id,
                   count(*) filter (where at > %(as_of)s - interval '7 days') as events_7d,
                   count(*) filter (where at > %(as_of)s - interval '30 days') as events_30d,
                   count(*) filter (where at > %(as_of)s - interval '90 days') as events_90d,
                   count(*) filter (where event = %(order)s and at > %(as_of)s - interval '30 days') as orders_30d,
                   count(*) filter (where event = %(order)s and at > %(as_of)s - interval '90 days') as orders_90d,
                   count(*) filter (where event = %(order)s) as orders_365d,
                   sum(revenue) filter (where event = %(order)s and at > %(as_of)s - interval '30 days') as revenue_30d,
                   sum(revenue) filter (where event = %(order)s and at > %(as_of)s - interval '90 days') as revenue_90d,
                   sum(revenue) filter (where event = %(order)s) as revenue_365d
                   {windows}
            from ev where canonical_id is not null group by canonical_id
        ),
        latest_traits as (
            select canonical_id, jsonb_object_agg(key, value order by at) as traits
            from ev, jsonb_each(ev.traits)
            where ev.type = 'identify' and canonical_id is not null
            group by canonical_id
        )
        select p.canonical_id, coalesce(t.traits, '{{}}'::jsonb) as traits,
               f.events_7d, f.events_30d, f.events_90d, f.orders_30d, f.orders_90d, f.orders_365d,
               f.revenue_30d, f.revenue_90d, f.revenue_365d,
               extract(epoch from (%(as_of)s - p.last_seen)) / 86400 as days_since_last_seen,
               extract(epoch from (%(as_of)s - p.first_seen)) / 86400 as days_since_first_seen
               {window_names}
        from app.cdp_profiles p
        left join facts f using (canonical_id)
        left join latest_traits t using (canonical_id)
        where p.tenant_id = %(tenant)s and p.merged_into is null and p.first_seen <= %(as_of)s
    """).format(
        windows=sql.SQL("").join(sql.SQL(", ") + c for c in window_columns),
        window_names=sql.SQL("").join(
            sql.SQL(", f.") + sql.Identifier(event_column(e, d)) for e, d in windows
        ),
    )
    cur = conn.execute(query, {"tenant": tenant_id, "as_of": as_of, "order": ORDER_EVENT})
    columns = [c.name for c in cur.description]
    frame = pd.DataFrame(cur.fetchall(), columns=columns)
    for column in [*COMPUTED_TRAITS, *(event_column(e, d) for e, d in windows)]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def refresh_membership(
    conn: psycopg.Connection,
    tenant_id: str,
    segment_id: int,
    members: set[str],
    *,
    at: datetime,
    run_id: str | None = None,
) -> dict[str, int]:
    """Make the current members exactly ``members``: entries for newcomers, exits for leavers; one
    transaction. Returns the counts."""
    with conn.transaction():
        conn.execute(
            "create temp table if not exists _segment_now (canonical_id text primary key) on commit drop"
        )
        conn.execute("truncate _segment_now")
        with conn.cursor().copy("copy _segment_now (canonical_id) from stdin") as copy:
            for canonical_id in members:
                copy.write_row((canonical_id,))
        exited = conn.execute(
            """update app.cdp_segment_members m set exited_at = %s
               where m.tenant_id = %s and m.segment_id = %s and m.exited_at is null
                 and not exists (select 1 from _segment_now n where n.canonical_id = m.canonical_id)""",
            (at, tenant_id, segment_id),
        ).rowcount
        entered = conn.execute(
            """insert into app.cdp_segment_members (tenant_id, segment_id, canonical_id, entered_at)
               select %s, %s, n.canonical_id, %s from _segment_now n
               where not exists (select 1 from app.cdp_segment_members m where m.tenant_id = %s
                                 and m.segment_id = %s and m.canonical_id = n.canonical_id and m.exited_at is null)""",
            (tenant_id, segment_id, at, tenant_id, segment_id),
        ).rowcount
        conn.execute(
            "update app.cdp_segments set profile_count = %s, last_computed_at = %s where segment_id = %s",
            (len(members), at, segment_id),
        )
        conn.execute(
            """insert into app.cdp_segment_runs (tenant_id, segment_id, as_of, profile_count, entered, exited, run_id)
               values (%s, %s, %s, %s, %s, %s, %s)""",
            (tenant_id, segment_id, at, len(members), entered, exited, run_id),
        )
    return {"members": len(members), "entered": entered, "exited": exited}


def current_members(conn: psycopg.Connection, tenant_id: str, segment_id: int) -> set[str]:
    rows = conn.execute(
        "select canonical_id from app.cdp_segment_members where tenant_id = %s and segment_id = %s"
        " and exited_at is null",
        (tenant_id, segment_id),
    )
    return {r for (r,) in rows}
