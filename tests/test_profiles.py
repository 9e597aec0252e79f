"""Profiles in the warehouse: the events of a ground-truth identity graph resolve to exactly its people,
day by day as in one pass, idempotently, per tenant, and through the Dagster asset."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

import dagster as dg
import psycopg
import pytest

from pipeline.analytics.identity import Identifier, Sighting
from pipeline.connectors.events import Event
from pipeline.defs.first_party import cdp_profiles
from pipeline.defs.resources import WarehouseResource
from pipeline.profiles import resolve_profiles
from pipeline.warehouse import access_store
from pipeline.warehouse.events_store import insert_events
from tests.analytics.test_identity import START, true_partition, world


def as_events(sightings: list[Sighting], prefix: str) -> list[Event]:
    events = []
    for n, sighting in enumerate(sightings):
        ids = dict(sighting.identifiers)
        alias = "user_id" in ids and "anonymous_id" in ids and len(ids) == 2 and n % 2 == 0
        events.append(
            Event(
                message_id=f"{prefix}-{n}",
                type="alias" if alias else "identify",
                event=None,
                anonymous_id=None if alias else ids.get("anonymous_id"),
                user_id=ids.get("user_id"),
                previous_id=ids.get("anonymous_id") if alias else None,
                group_id=None,
                timestamp=sighting.at,
                sent_at=None,
                received_at=sighting.at,
                properties={},
                traits={},
                context={},
                email_sha256=ids.get("email"),
                phone_sha256=ids.get("phone"),
            )
        )
    return events


def load(url: str, tenant: str, events: list[Event]) -> None:
    with psycopg.connect(url) as conn, conn.transaction():
        insert_events(conn, tenant, "test", events)


def partition(url: str, tenant: str) -> set[frozenset[Identifier]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select canonical_id, kind, value from app.cdp_identities where tenant_id = %s", (tenant,)
        ).fetchall()
    groups: dict[str, set[Identifier]] = defaultdict(set)
    for canonical, kind, value in rows:
        groups[canonical].add((kind, value))
    return {frozenset(g) for g in groups.values()}


def owners(url: str, tenant: str) -> dict[tuple[str, str], str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select kind, value, canonical_id from app.cdp_identities where tenant_id = %s", (tenant,)
        )
        return {(k, v): c for k, v, c in rows}


@pytest.fixture(scope="module")
def profiles_db(database_factory: Callable[[str], str]) -> str:
    url = database_factory("profiles")
    with psycopg.connect(url, autocommit=True) as conn:
        for slug in ("daily", "once", "chunks"):
            access_store.add_tenant(conn, slug, slug.title(), actor="test")
    return url


def test_events_resolve_to_the_true_people_daily_as_in_one_pass(profiles_db: str) -> None:
    sightings, truth = world(7, people=250)
    events = as_events(sightings, "w7")
    load(profiles_db, "once", events)
    once = resolve_profiles(profiles_db, "once")
    assert once.events == len(events)
    assert partition(profiles_db, "once") == true_partition(truth)

    for day in range(30):
        first = START + timedelta(days=day)
        load(profiles_db, "daily", [e for e in events if first <= e.timestamp < first + timedelta(days=1)])
        resolve_profiles(profiles_db, "daily")
    assert partition(profiles_db, "daily") == true_partition(truth)
    # The same canonical ids (stable ids are per tenant, so compare their structure through the truth).
    daily_owner, once_owner = owners(profiles_db, "daily"), owners(profiles_db, "once")
    assert {
        frozenset(k for k, c in daily_owner.items() if c == cid) for cid in set(daily_owner.values())
    } == {frozenset(k for k, c in once_owner.items() if c == cid) for cid in set(once_owner.values())}

    load(profiles_db, "chunks", events)
    resolve_profiles(profiles_db, "chunks", chunk=97)  # many small chunks in event-time order
    assert partition(profiles_db, "chunks") == true_partition(truth)


def test_a_rerun_changes_nothing(profiles_db: str) -> None:
    before = owners(profiles_db, "once")
    again = resolve_profiles(profiles_db, "once")
    assert (again.new_profiles, again.merges) == (0, 0)
    assert owners(profiles_db, "once") == before
    with psycopg.connect(profiles_db) as conn:
        merged_rows = conn.execute(
            "select count(*) from app.cdp_profiles p where tenant_id = 'daily' and merged_into is not null"
            " and not exists (select 1 from app.cdp_profile_merges m where m.tenant_id = p.tenant_id"
            " and m.merged_id = p.canonical_id)"
        ).fetchone()
    assert merged_rows == (0,)  # every merged profile has its merge recorded


def test_the_asset_resolves_every_tenant(profiles_db: str) -> None:
    sightings, truth = world(8, people=40)
    load(profiles_db, "default", as_events(sightings, "w8"))
    result = dg.materialize([cdp_profiles], resources={"warehouse": WarehouseResource(url=profiles_db)})
    assert result.success
    metadata = result.asset_materializations_for_node("app__cdp_profiles")[0].metadata
    assert metadata["by_tenant"].value["default"]["profiles"] == len(true_partition(truth))
    assert metadata["new_profiles"].value == len(true_partition(truth))  # the other tenants: nothing new
    assert partition(profiles_db, "default") == true_partition(truth)
