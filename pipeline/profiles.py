"""Resolve the events loaded since the last run into profiles, per tenant (the ``app/cdp_profiles``
asset and ``adsignal profiles resolve``). The rules are in ``pipeline.analytics.identity``; the SQL
in ``pipeline.warehouse.profiles_store``. One transaction per tenant: a failed run changes nothing
and the next one starts from the same point."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from pipeline.analytics.identity import resolve
from pipeline.warehouse import profiles_store


@dataclass
class ResolutionSummary:
    tenant_id: str
    events: int = 0
    new_profiles: int = 0
    merges: int = 0
    conflicts: int = 0
    totals: dict[str, int] = field(default_factory=dict)


def resolve_profiles(url: str, tenant_id: str, *, chunk: int = 100_000) -> ResolutionSummary:
    summary = ResolutionSummary(tenant_id)
    with psycopg.connect(url) as conn, conn.transaction():
        since = profiles_store.resolved_through(conn, tenant_id)
        newest = None
        for sightings, read_through in profiles_store.sighting_chunks(conn, tenant_id, since, chunk=chunk):
            newest = read_through
            mentioned = sorted({i for s in sightings for i in s.identifiers})
            known, profiles, users = profiles_store.known_identities(conn, tenant_id, mentioned)
            result = resolve(tenant_id, sightings, known, profiles, users)
            profiles_store.apply_resolution(conn, tenant_id, result)
            summary.events += len(sightings)
            summary.new_profiles += len(result.new_profiles)
            summary.merges += len(result.merges)
            summary.conflicts += len(result.conflicts)
        if newest is not None:
            profiles_store.mark_resolved(conn, tenant_id, newest)
        summary.totals = profiles_store.profile_counts(conn, tenant_id)
    return summary


def resolve_all_tenants(url: str) -> list[ResolutionSummary]:
    with psycopg.connect(url) as conn:
        tenants = profiles_store.tenants_with_events(conn)
    return [resolve_profiles(url, tenant) for tenant in tenants]
