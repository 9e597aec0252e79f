"""Identity resolution's tables (migration 0018): read what new events mention, write what changed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

import psycopg

from pipeline.analytics.identity import Identifier, Profile, Resolution, Sighting, sightings_of

# Events committed by a transaction that started before the last resolution's newest loaded_at could
# land "behind" it; re-reading this much is harmless (resolution is idempotent) and catches them.
REREAD = timedelta(minutes=10)


def resolved_through(conn: psycopg.Connection, tenant_id: str) -> datetime | None:
    row = conn.execute(
        "select resolved_through from app.cdp_resolution_state where tenant_id = %s", (tenant_id,)
    ).fetchone()
    return row[0] if row else None


def sighting_chunks(
    conn: psycopg.Connection, tenant_id: str, since: datetime | None, chunk: int = 100_000
) -> Iterator[tuple[list[Sighting], datetime]]:
    """The identifiers of events loaded after ``since`` (minus ``REREAD``), in event-time order, in chunks;
    with each chunk the newest ``loaded_at`` read so far."""
    start = since - REREAD if since else None
    with conn.cursor(name="cdp_sightings") as cur:  # server-side: the events are never all in memory
        cur.itersize = chunk
        cur.execute(
            """select "timestamp", user_id, anonymous_id, email_sha256, phone_sha256,
                      case when type = 'alias' then previous_id end, loaded_at
               from raw.cdp_events
               where tenant_id = %s and (%s::timestamptz is null or loaded_at > %s)
               order by "timestamp", message_id""",
            (tenant_id, start, start),
        )
        batch: list[Sighting] = []
        newest = since
        for at, user_id, anonymous_id, email, phone, previous_id, loaded_at in cur:
            batch.append(sightings_of(at=at, user_id=user_id, anonymous_id=anonymous_id, email_sha256=email,
                                      phone_sha256=phone, previous_id=previous_id))  # fmt: skip
            newest = loaded_at if newest is None else max(newest, loaded_at)
            if len(batch) >= chunk:
                yield batch, newest
                batch = []
        if batch:
            yield batch, newest  # type: ignore[misc]


def known_identities(
    conn: psycopg.Connection, tenant_id: str, identifiers: Sequence[Identifier]
) -> tuple[dict[Identifier, str], dict[str, Profile], dict[str, Identifier | None]]:
    """The current profile of each identifier that has one, those profiles, and their user ids."""
    if not identifiers:
        return {}, {}, {}
    kinds, values = [k for k, _ in identifiers], [v for _, v in identifiers]
    rows = conn.execute(
        """select i.kind, i.value, i.canonical_id from app.cdp_identities i
           join unnest(%s::text[], %s::text[]) as wanted (kind, value) using (kind, value)
           where i.tenant_id = %s""",
        (kinds, values, tenant_id),
    ).fetchall()
    known = {(kind, value): canonical for kind, value, canonical in rows}
    profile_rows = conn.execute(
        "select canonical_id, first_seen, user_id from app.cdp_profiles"
        " where tenant_id = %s and canonical_id = any(%s)",
        (tenant_id, sorted(set(known.values()))),
    ).fetchall()
    profiles = {cid: Profile(cid, first) for cid, first, _ in profile_rows}
    users = {cid: ("user_id", user) if user else None for cid, _, user in profile_rows}
    return known, profiles, users


_STAGING = """
    create temp table if not exists _cdp_new (canonical_id text, first_seen timestamptz) on commit drop;
    create temp table if not exists _cdp_assign (kind text, value text, canonical_id text) on commit drop;
    create temp table if not exists _cdp_merge (merged_id text, into_id text, merged_at timestamptz) on commit drop;
    create temp table if not exists _cdp_seen (canonical_id text, last_seen timestamptz) on commit drop;
    truncate _cdp_new, _cdp_assign, _cdp_merge, _cdp_seen;
"""


def _copy_rows(conn: psycopg.Connection, table: str, columns: str, rows: Iterable[tuple]) -> None:
    with conn.cursor().copy(f"copy {table} ({columns}) from stdin") as copy:
        for row in rows:
            copy.write_row(row)


def apply_resolution(conn: psycopg.Connection, tenant_id: str, result: Resolution) -> None:
    """Write a resolution in the caller's transaction (all or nothing): COPY into temp tables, then a
    handful of set-based statements, whatever the number of identifiers."""
    conn.execute(_STAGING)
    _copy_rows(conn, "_cdp_new", "canonical_id, first_seen", result.new_profiles.items())
    _copy_rows(
        conn,
        "_cdp_assign",
        "kind, value, canonical_id",
        ((k, v, c) for (k, v), c in result.assignments.items()),
    )
    _copy_rows(conn, "_cdp_merge", "merged_id, into_id, merged_at", result.merges)
    _copy_rows(conn, "_cdp_seen", "canonical_id, last_seen", result.last_seen.items())
    params = {"tenant": tenant_id}
    conn.execute(
        """insert into app.cdp_profiles (tenant_id, canonical_id, first_seen, last_seen)
           select %(tenant)s, canonical_id, first_seen, first_seen from _cdp_new on conflict do nothing""",
        params,
    )
    conn.execute(
        """update app.cdp_profiles p set merged_into = m.into_id, merged_at = m.merged_at, updated_at = now()
           from _cdp_merge m where p.tenant_id = %(tenant)s and p.canonical_id = m.merged_id""",
        params,
    )
    conn.execute(  # identifiers the new events did not mention follow their profile too
        """update app.cdp_identities i set canonical_id = m.into_id
           from _cdp_merge m where i.tenant_id = %(tenant)s and i.canonical_id = m.merged_id""",
        params,
    )
    conn.execute(
        """insert into app.cdp_profile_merges (tenant_id, merged_id, into_id, merged_at)
           select %(tenant)s, merged_id, into_id, merged_at from _cdp_merge on conflict do nothing""",
        params,
    )
    conn.execute(
        """insert into app.cdp_identities (tenant_id, kind, value, canonical_id)
           select %(tenant)s, kind, value, canonical_id from _cdp_assign
           on conflict (tenant_id, kind, value) do update set canonical_id = excluded.canonical_id""",
        params,
    )
    conn.execute(
        """update app.cdp_profiles p set user_id = a.value, updated_at = now()
           from _cdp_assign a where a.kind = 'user_id' and p.tenant_id = %(tenant)s
             and p.canonical_id = a.canonical_id and p.user_id is distinct from a.value""",
        params,
    )
    conn.execute(
        """update app.cdp_profiles p set last_seen = greatest(p.last_seen, s.last_seen), updated_at = now()
           from _cdp_seen s where p.tenant_id = %(tenant)s and p.canonical_id = s.canonical_id
             and s.last_seen > p.last_seen""",
        params,
    )
    if result.conflicts:
        with conn.cursor() as cur:
            cur.executemany(
                """insert into app.cdp_identity_conflicts
                       (tenant_id, kept_kind, kept_value, refused_kind, refused_value, seen_at)
                   values (%s, %s, %s, %s, %s, %s) on conflict do nothing""",
                [(tenant_id, *kept, *refused, at) for kept, refused, at in result.conflicts],
            )


def mark_resolved(conn: psycopg.Connection, tenant_id: str, through: datetime) -> None:
    conn.execute(
        """insert into app.cdp_resolution_state (tenant_id, resolved_through) values (%s, %s)
           on conflict (tenant_id) do update set resolved_through = greatest(
               app.cdp_resolution_state.resolved_through, excluded.resolved_through), updated_at = now()""",
        (tenant_id, through),
    )


def profile_counts(conn: psycopg.Connection, tenant_id: str) -> dict[str, int]:
    row = conn.execute(
        """select count(*) filter (where merged_into is null), count(*) filter (where merged_into is not null),
                  (select count(*) from app.cdp_identities where tenant_id = %s)
           from app.cdp_profiles where tenant_id = %s""",
        (tenant_id, tenant_id),
    ).fetchone()
    return {"profiles": row[0], "merged": row[1], "identifiers": row[2]}


def tenants_with_events(conn: psycopg.Connection) -> list[str]:
    """Active tenants that have events (an index probe per tenant, not a scan of the events)."""
    return [
        t
        for (t,) in conn.execute(
            "select tenant_id from app.tenants t where status = 'active'"
            " and exists (select 1 from raw.cdp_events e where e.tenant_id = t.tenant_id) order by 1"
        )
    ]
