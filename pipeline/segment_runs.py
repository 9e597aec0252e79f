"""Refresh every enabled segment of a tenant as of a moment: features once, membership per segment
(the ``app/cdp_segments`` asset, ``adsignal segments refresh`` and ``preview``)."""

from __future__ import annotations

from datetime import datetime

import psycopg

from pipeline.analytics.segments import Segment, event_windows, members, segment_from_definition
from pipeline.warehouse import segments_store


def evaluate(
    conn: psycopg.Connection, tenant_id: str, segments: list[Segment], as_of: datetime
) -> dict[str, set[str]]:
    """Who is in each segment as of ``as_of`` (nothing written)."""
    features = segments_store.profile_features(conn, tenant_id, as_of, event_windows(segments))
    return {segment.name: members(segment, features) for segment in segments}


def refresh_segments(
    url: str, tenant_id: str, as_of: datetime, *, run_id: str | None = None
) -> dict[str, dict[str, int]]:
    """Members, entered and exited per segment. A segment already computed for a later moment is left
    as it is (``skipped``): membership history only moves forward."""
    with psycopg.connect(url) as conn:
        stored = segments_store.list_segments(conn, tenant_id, enabled_only=True)
        current = [s for s in stored if s.last_computed_at is None or s.last_computed_at <= as_of]
        outcome: dict[str, dict[str, int]] = {
            s.name: {"members": s.profile_count or 0, "entered": 0, "exited": 0, "skipped": 1}
            for s in stored
            if s not in current
        }
        if not current:
            return outcome
        who = evaluate(conn, tenant_id, [segment_from_definition(s.definition) for s in current], as_of)
        for s in current:
            counts = segments_store.refresh_membership(
                conn, tenant_id, s.segment_id, who[s.name], at=as_of, run_id=run_id
            )
            outcome[s.name] = {**counts, "skipped": 0}
        return outcome
