"""`adsignal profiles forget`: one person's first-party data erased, nobody else's (issue 15).

Real PostgreSQL and the real CLI. Ann has two profiles merged into one (an anonymous visit, then a
login with her email), a refused event in quarantine and a segment membership; Bob shares her
segment; acme holds a person with Ann's very ids. Forgetting Ann by her email (typed differently
from how it was tracked) removes exactly her rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from pipeline import config
from pipeline.cli import main
from pipeline.connectors.events import Event, normalize_email, sha256_hex
from pipeline.profiles import resolve_profiles
from pipeline.warehouse import access_store, db
from pipeline.warehouse.events_store import insert_events

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
ANN_EMAIL = "ann@example.com"


def _event(message_id: str, at: datetime, **ids: str) -> Event:
    return Event(
        message_id=message_id,
        type="identify",
        event=None,
        anonymous_id=ids.get("anonymous_id"),
        user_id=ids.get("user_id"),
        previous_id=None,
        group_id=None,
        timestamp=at,
        sent_at=None,
        received_at=at,
        properties={},
        traits={"plan": "pro"},
        context={},
        email_sha256=ids.get("email_sha256"),
    )


def _people(tenant: str) -> list[Event]:
    ann_hash = sha256_hex(normalize_email(ANN_EMAIL))
    return [
        _event(f"{tenant}-1", T0, anonymous_id="anon-ann"),  # first a visit: a profile of its own
        _event(f"{tenant}-2", T0 + timedelta(hours=1), user_id="u-ann", email_sha256=ann_hash),
        _event(f"{tenant}-3", T0 + timedelta(hours=2), user_id="u-ann", anonymous_id="anon-ann"),  # merge
        _event(f"{tenant}-4", T0 + timedelta(hours=3), user_id="u-bob", anonymous_id="anon-bob"),
    ]


def _count(conn: psycopg.Connection, table: str, tenant: str) -> int:
    return conn.execute(f"select count(*) from {table} where tenant_id = %s", (tenant,)).fetchone()[0]


TABLES = (
    "raw.cdp_events",
    "app.cdp_identities",
    "app.cdp_profiles",
    "app.cdp_segment_members",
    "raw.quarantine",
)


@pytest.fixture
def url(database_factory: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> str:
    url = database_factory("profiles_forget")
    monkeypatch.setenv("DATABASE_URL", url)
    for cached in (config.settings, db.database_url):
        cached.cache_clear()
    with psycopg.connect(url, autocommit=True) as conn:
        access_store.add_tenant(conn, "acme", "Acme", actor="test")
        for tenant in ("default", "acme"):
            events = _people(tenant)
            for batch in (events[:1], events[1:2], events[2:]):  # apart: two profiles of Ann, then a merge
                with conn.transaction():
                    insert_events(conn, tenant, "test", batch)
                resolve_profiles(url, tenant)
            conn.execute(
                "insert into raw.quarantine (tenant_id, platform, stream, source, line_number, reason, payload)"
                " values (%s, 'events', 'cdp_events', 'events.jsonl', 7, 'timestamp is missing', %s)",
                (tenant, Jsonb({"userId": "u-ann", "traits": {"email": "Ann@Example.com"}})),
            )
            (segment_id,) = conn.execute(
                "insert into app.cdp_segments (tenant_id, name, definition, profile_count)"
                " values (%s, 'pro users', '{}', 2) returning segment_id",
                (tenant,),
            ).fetchone()
            conn.execute(
                "insert into app.cdp_segment_members (tenant_id, segment_id, canonical_id, entered_at)"
                " select tenant_id, %s, canonical_id, first_seen from app.cdp_profiles"
                " where tenant_id = %s and merged_into is null",
                (segment_id, tenant),
            )
    yield url
    for cached in (config.settings, db.database_url):
        cached.cache_clear()


def test_forgetting_a_person_erases_exactly_their_rows(url: str) -> None:
    with psycopg.connect(url) as conn:
        before = {(t, tenant): _count(conn, t, tenant) for t in TABLES for tenant in ("default", "acme")}
        [(profiles,)] = conn.execute(
            "select count(*) from app.cdp_profiles where tenant_id = 'default' and merged_into is null"
        ).fetchall()
    assert (
        profiles == 2 and before[("app.cdp_profiles", "default")] == 3
    )  # Ann (two profiles, one merged) and Bob

    cli = CliRunner()
    result = cli.invoke(main, ["profiles", "forget", "  Ann@Example.COM ", "--by", "dpo"])
    assert result.exit_code == 0, result.output
    assert "ann" not in result.output.lower()  # the output names the profile id, never the person
    assert "3 events" in result.output and "1 quarantined events" in result.output

    with psycopg.connect(url) as conn:
        after = {(t, tenant): _count(conn, t, tenant) for t in TABLES for tenant in ("default", "acme")}
        assert after[("raw.cdp_events", "default")] == 1  # Bob's
        assert after[("app.cdp_profiles", "default")] == 1
        assert after[("app.cdp_identities", "default")] == 2  # u-bob, anon-bob
        assert after[("app.cdp_segment_members", "default")] == 1
        assert after[("raw.quarantine", "default")] == 0
        assert {k: v for k, v in after.items() if k[1] == "acme"} == {
            k: v for k, v in before.items() if k[1] == "acme"
        }  # acme's person with Ann's ids is untouched
        assert conn.execute(
            "select profile_count from app.cdp_segments where tenant_id = 'default'"
        ).fetchone() == (1,)
        [(actor, details)] = conn.execute(
            "select actor, details::text from app.audit_logs where event = 'profile.forgotten'"
        ).fetchall()
        assert actor == "dpo" and "ann" not in details.lower() and '"events": 3' in details

    again = resolve_profiles(url, "default")  # nothing left to rebuild her from
    assert again.totals["profiles"] == 1
    missing = cli.invoke(main, ["profiles", "forget", ANN_EMAIL])
    assert missing.exit_code == 1 and "no profile of tenant default" in missing.output

    by_user_id = cli.invoke(main, ["profiles", "forget", "u-bob", "--tenant", "acme"])
    assert by_user_id.exit_code == 0, by_user_id.output
    with psycopg.connect(url) as conn:
        assert _count(conn, "raw.cdp_events", "acme") == 3 and _count(conn, "raw.cdp_events", "default") == 1
