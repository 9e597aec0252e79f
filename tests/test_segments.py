"""Segments: definitions validated like the rules, membership computed from resolved profiles with
entries and exits kept, refreshed by the Dagster asset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.connectors.events import parse_event
from pipeline.defs import first_party
from pipeline.defs.resources import WarehouseResource
from pipeline.profiles import resolve_profiles
from pipeline.segment_runs import refresh_segments
from pipeline.warehouse.events_store import insert_events

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # pinned: windows count back from it
SEGMENTS = """
version: 1
segments:
  - name: engaged_pros
    description: Two orders in 90 days, three product views this week, on a pro plan
    conditions:
      - computed: orders_90d
        op: gte
        value: 2
      - event: Product Viewed
        within_days: 7
        op: gte
        value: 3
      - trait: plan
        op: in
        value: [pro, business]
  - name: big_spenders_or_fresh
    match: any
    conditions:
      - computed: revenue_365d
        op: gt
        value: 100
      - computed: days_since_first_seen
        op: lt
        value: 2
"""


def ev(
    n: str, user: str | None, anon: str, at: datetime, kind: str = "track", event: str | None = None, **more
) -> dict:
    return {"type": kind, "messageId": n, "userId": user, "anonymousId": anon, "event": event, "timestamp": at.isoformat(), **more}  # fmt: skip


def load(url: str, raw: list[dict]) -> None:
    with psycopg.connect(url) as conn, conn.transaction():
        insert_events(conn, "default", "test", [parse_event(r, received_at=NOW) for r in raw])


@pytest.fixture(scope="module")
def segments_db(database_factory: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = database_factory("segments")
    day = timedelta(days=1)
    load(
        url,
        [
            # ana: a pro with two orders this quarter and four views this week
            ev("a1", "ana", "dev-a", NOW - 60 * day, "identify", traits={"plan": "pro"}),
            ev("a2", "ana", "dev-a", NOW - 50 * day, event="Order Completed", properties={"revenue": 80}),
            ev("a3", None, "dev-a", NOW - 20 * day, event="Order Completed", properties={"revenue": "n/a"}),
            *(ev(f"a-v{i}", None, "dev-a", NOW - i * day, event="Product Viewed") for i in range(1, 5)),
            # bob: a free plan, one big order last year
            ev("b1", "bob", "dev-b", NOW - 300 * day, "identify", traits={"plan": "free"}),
            ev("b2", "bob", "dev-b", NOW - 200 * day, event="Order Completed", properties={"revenue": 250.5}),
            # cid: anonymous, first seen yesterday
            ev("c1", None, "dev-c", NOW - day, event="Product Viewed"),
        ],
    )
    resolve_profiles(url, "default")
    path = tmp_path_factory.mktemp("segments") / "segments.yml"
    path.write_text(SEGMENTS)
    result = CliRunner().invoke(main, ["segments", "import", str(path)], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return url


def members(url: str, name: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """select coalesce(p.user_id, i.value) from app.cdp_segment_members m
               join app.cdp_segments s on s.segment_id = m.segment_id
               join app.cdp_profiles p on p.tenant_id = m.tenant_id and p.canonical_id = m.canonical_id
               left join app.cdp_identities i on i.tenant_id = p.tenant_id and i.canonical_id = p.canonical_id
                    and i.kind = 'anonymous_id'
               where s.name = %s and m.exited_at is null""",
            (name,),
        )
        return {r for (r,) in rows}


def test_membership_follows_the_conditions(segments_db: str) -> None:
    counts = refresh_segments(segments_db, "default", NOW)
    assert counts["engaged_pros"] == {"members": 1, "entered": 1, "exited": 0, "skipped": 0}
    assert members(segments_db, "engaged_pros") == {"ana"}
    # bob: revenue 250.5 in the year; cid: first seen yesterday; ana: 80 (the "n/a" revenue is not a number).
    assert members(segments_db, "big_spenders_or_fresh") == {"bob", "dev-c"}


def test_exits_and_entries_are_kept_as_history(segments_db: str) -> None:
    later = NOW + timedelta(days=10)  # ana's views leave the 7-day window; cid is no longer fresh
    counts = refresh_segments(segments_db, "default", later)
    assert counts["engaged_pros"] == {"members": 0, "entered": 0, "exited": 1, "skipped": 0}
    assert counts["big_spenders_or_fresh"] == {"members": 1, "entered": 0, "exited": 1, "skipped": 0}
    load(
        segments_db,
        [ev(f"a-w{i}", "ana", "dev-a", later - timedelta(hours=i), event="Product Viewed") for i in range(3)],
    )
    resolve_profiles(segments_db, "default")
    back = refresh_segments(segments_db, "default", later)["engaged_pros"]
    assert back == {"members": 1, "entered": 1, "exited": 0, "skipped": 0}
    # A refresh for an earlier moment leaves the history alone.
    assert refresh_segments(segments_db, "default", NOW)["engaged_pros"]["skipped"] == 1
    with psycopg.connect(segments_db) as conn:
        stays = conn.execute(
            """select count(*), count(exited_at) from app.cdp_segment_members m join app.cdp_segments s
               using (segment_id) where s.name = 'engaged_pros'"""
        ).fetchone()
        runs = conn.execute(
            "select count(*) from app.cdp_segment_runs r join app.cdp_segments s using (segment_id)"
            " where s.name = 'engaged_pros'"
        ).fetchone()
    assert stays == (2, 1)  # ana's first stay ended, her second is open
    assert runs == (3,)


def test_a_bad_segments_file_names_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        "segments:\n  - name: Bad Name\n    conditions:\n      - computed: orders_9d\n        op: gte\n        value: 1\n"
        "  - name: ok\n    conditions:\n      - trait: plan\n        op: in\n        value: pro\n"
    )
    result = CliRunner().invoke(main, ["segments", "validate", str(path)])
    assert result.exit_code == 1
    assert "segments[0].name" in result.output
    assert "segments[0].conditions[0].computed" in result.output
    assert "segments[1].conditions[0].value: op 'in' needs a list" in result.output


def test_the_hourly_job_resolves_then_refreshes(segments_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(first_party, "utc_now", lambda: NOW + timedelta(days=11))
    result = dg.materialize(
        [first_party.cdp_profiles, first_party.cdp_segments],
        resources={"warehouse": WarehouseResource(url=segments_db)},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("app__cdp_segments")[0].metadata
    assert metadata["segments"].value == 2
    assert members(segments_db, "engaged_pros") == {"ana"}  # her three views of day 10 are still this week
    assert members(segments_db, "big_spenders_or_fresh") == {"bob"}
