"""Erasing one person from the first-party layer (``adsignal profiles forget``): the SQL.

A person is a live profile and every profile merged into it. What goes, in the caller's transaction:
their events (``raw.cdp_events``: properties, traits and context hold what they did and said), their
refused events in ``raw.quarantine`` (a raw line may hold a plain email), their identifiers, merges,
identity conflicts, profiles and segment memberships (history included; each touched segment's
``profile_count`` is recounted). What stays: the audit row, naming the profile id and the counts only.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from pipeline.warehouse.events_store import EVENTS_PLATFORM


@dataclass(frozen=True)
class Identifiers:
    canonical_ids: list[str]  # the live profile first, then those merged into it
    by_kind: dict[str, list[str]]  # kind -> values (user_id, anonymous_id, email / phone sha256)


def live_profile(conn: psycopg.Connection, tenant_id: str, kind: str | None, value: str) -> str | None:
    """The live profile holding identifier ``(kind, value)`` (``kind`` None: ``value`` is a profile
    id), following merges to the profile that absorbed it."""
    if kind is None:
        row = conn.execute(
            "select canonical_id from app.cdp_profiles where tenant_id = %s and canonical_id = %s",
            (tenant_id, value),
        ).fetchone()
    else:
        row = conn.execute(
            "select canonical_id from app.cdp_identities where tenant_id = %s and kind = %s and value = %s",
            (tenant_id, kind, value),
        ).fetchone()
    if row is None:
        return None
    found = conn.execute(
        """with recursive chain (canonical_id, merged_into, depth) as (
               select canonical_id, merged_into, 0 from app.cdp_profiles
               where tenant_id = %(tenant)s and canonical_id = %(id)s
               union all
               select p.canonical_id, p.merged_into, chain.depth + 1 from app.cdp_profiles p
               join chain on p.canonical_id = chain.merged_into
               where p.tenant_id = %(tenant)s and chain.depth < 1000)
           select canonical_id from chain where merged_into is null""",
        {"tenant": tenant_id, "id": row[0]},
    ).fetchone()
    return found[0] if found else row[0]


def identifiers_of(conn: psycopg.Connection, tenant_id: str, canonical_id: str) -> Identifiers:
    """The profile, every profile merged into it (at any depth), and all their identifiers."""
    ids = [
        c
        for (c,) in conn.execute(
            """with recursive absorbed (canonical_id) as (
                   select %(id)s::text
                   union
                   select p.canonical_id from app.cdp_profiles p
                   join absorbed on p.merged_into = absorbed.canonical_id
                   where p.tenant_id = %(tenant)s)
               select canonical_id from absorbed""",
            {"tenant": tenant_id, "id": canonical_id},
        )
    ]
    by_kind: dict[str, list[str]] = {}
    for kind, value in conn.execute(
        "select kind, value from app.cdp_identities where tenant_id = %s and canonical_id = any(%s)"
        " order by kind, value",
        (tenant_id, ids),
    ):
        by_kind.setdefault(kind, []).append(value)
    return Identifiers(ids, by_kind)


def erase(conn: psycopg.Connection, tenant_id: str, person: Identifiers) -> dict[str, int]:
    """Delete everything of ``person`` (module docstring); rows removed per table."""
    users = person.by_kind.get("user_id", [])
    anonymous = person.by_kind.get("anonymous_id", [])
    emails = person.by_kind.get("email", [])
    phones = person.by_kind.get("phone", [])
    values = [v for vs in person.by_kind.values() for v in vs]
    params = {
        "tenant": tenant_id,
        "ids": person.canonical_ids,
        "users": users,
        "anonymous": anonymous,
        "either": users + anonymous,
        "emails": emails,
        "phones": phones,
        "values": values,
        "platform": EVENTS_PLATFORM,
    }
    counts: dict[str, int] = {}
    counts["events"] = conn.execute(
        """delete from raw.cdp_events where tenant_id = %(tenant)s and (
               user_id = any(%(users)s) or anonymous_id = any(%(anonymous)s)
               or previous_id = any(%(either)s)
               or email_sha256 = any(%(emails)s) or phone_sha256 = any(%(phones)s))""",
        params,
    ).rowcount
    # A refused line is kept as it came: match its ids, and its email the way events hash it.
    counts["quarantined_events"] = conn.execute(
        """delete from raw.quarantine where tenant_id = %(tenant)s and platform = %(platform)s and (
               payload ->> 'userId' = any(%(either)s) or payload ->> 'anonymousId' = any(%(either)s)
               or payload ->> 'previousId' = any(%(either)s)
               or encode(sha256(convert_to(lower(btrim(coalesce(
                      payload -> 'traits' ->> 'email', payload -> 'context' -> 'traits' ->> 'email'))),
                  'UTF8')), 'hex') = any(%(emails)s))""",
        params,
    ).rowcount
    segments = [
        s
        for (s,) in conn.execute(
            "select distinct segment_id from app.cdp_segment_members"
            " where tenant_id = %(tenant)s and canonical_id = any(%(ids)s)",
            params,
        )
    ]
    counts["segment_memberships"] = conn.execute(
        "delete from app.cdp_segment_members where tenant_id = %(tenant)s and canonical_id = any(%(ids)s)",
        params,
    ).rowcount
    conn.execute(
        """update app.cdp_segments s set profile_count = (
               select count(*) from app.cdp_segment_members m
               where m.tenant_id = s.tenant_id and m.segment_id = s.segment_id and m.exited_at is null),
               updated_at = now()
           where s.tenant_id = %(tenant)s and s.segment_id = any(%(segments)s)""",
        {**params, "segments": segments},
    )
    counts["identity_conflicts"] = conn.execute(
        "delete from app.cdp_identity_conflicts where tenant_id = %(tenant)s"
        " and (kept_value = any(%(values)s) or refused_value = any(%(values)s))",
        params,
    ).rowcount
    conn.execute(
        "delete from app.cdp_profile_merges where tenant_id = %(tenant)s"
        " and (merged_id = any(%(ids)s) or into_id = any(%(ids)s))",
        params,
    )
    counts["identifiers"] = conn.execute(
        "delete from app.cdp_identities where tenant_id = %(tenant)s and canonical_id = any(%(ids)s)", params
    ).rowcount
    counts["profiles"] = conn.execute(
        "delete from app.cdp_profiles where tenant_id = %(tenant)s and canonical_id = any(%(ids)s)", params
    ).rowcount
    return counts
