"""``app.audit_logs``: who did what to which object (actions, recommendations, alerts, rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pipeline.jsonable import jsonable


def audit(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    actor: str,
    event: str,
    object_type: str,
    object_id: str | int,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One row of ``app.audit_logs``; ``details`` hold ids, statuses and amounts, never credentials."""
    conn.execute(
        "insert into app.audit_logs (tenant_id, actor, event, object_type, object_id, details)"
        " values (%s, %s, %s, %s, %s, %s)",
        (tenant_id, actor, event, object_type, str(object_id), Jsonb(jsonable(details or {}))),
    )


def audit_trail(conn: psycopg.Connection, object_type: str, object_id: str | int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "select * from app.audit_logs where object_type = %s and object_id = %s order by audit_id",
            (object_type, str(object_id)),
        ).fetchall()
