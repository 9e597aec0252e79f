"""Resolve the events loaded since the last run into profiles, per tenant (the ``app/cdp_profiles``
asset and ``adsignal profiles resolve``). The rules are in ``pipeline.analytics.identity``; the SQL
in ``pipeline.warehouse.profiles_store``. One transaction per tenant: a failed run changes nothing
and the next one starts from the same point. And erase one person (``adsignal profiles forget``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from pipeline.analytics.identity import resolve
from pipeline.connectors.events import normalize_email, normalize_phone, sha256_hex
from pipeline.warehouse import forget_store, profiles_store
from pipeline.warehouse.audit import audit


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


class UnknownPerson(LookupError):
    """Nobody in the tenant's profiles matches what was given."""


@dataclass
class Forgotten:
    tenant_id: str
    canonical_id: str  # the live profile that was erased (an opaque id: no PII)
    counts: dict[str, int]


def identifier_candidates(who: str) -> list[tuple[str | None, str]]:
    """What ``who`` may name, in the order tried: an email or a phone (hashed as the events hash
    them), else a profile id, a user id or an anonymous id."""
    text = who.strip()
    if "@" in text:
        return [("email", sha256_hex(normalize_email(text)))]
    candidates: list[tuple[str | None, str]] = [(None, text), ("user_id", text), ("anonymous_id", text)]
    if text.startswith("+") and normalize_phone(text) != "+":
        candidates.insert(0, ("phone", sha256_hex(normalize_phone(text))))
    return candidates


def forget_person(url: str, tenant_id: str, who: str, *, actor: str) -> Forgotten:
    """Erase a person's first-party data (``pipeline.warehouse.forget_store``) in one transaction,
    with an audit row that names the profile id and the counts, never ``who``."""
    with psycopg.connect(url) as conn, conn.transaction():
        canonical_id = next(
            (
                found
                for kind, value in identifier_candidates(who)
                if (found := forget_store.live_profile(conn, tenant_id, kind, value))
            ),
            None,
        )
        if canonical_id is None:
            raise UnknownPerson(f"no profile of tenant {tenant_id} matches what was given")
        person = forget_store.identifiers_of(conn, tenant_id, canonical_id)
        counts = forget_store.erase(conn, tenant_id, person)
        audit(conn, tenant_id=tenant_id, actor=actor, event="profile.forgotten", object_type="profile",
              object_id=canonical_id, details=counts)  # fmt: skip
    return Forgotten(tenant_id, canonical_id, counts)
