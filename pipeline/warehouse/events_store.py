"""``raw.cdp_events`` and ``app.collect_keys``: events in (idempotent on messageId), bad lines to the
quarantine, the events folder's files in ``raw.file_imports``, write keys stored as hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from pipeline.connectors.events import Event
from pipeline.jsonable import jsonable
from pipeline.warehouse.audit import audit
from pipeline.warehouse.loader import QuarantinedRow, write_quarantine

EVENTS_PLATFORM = "events"  # raw.quarantine's platform for refused events
EVENTS_STREAM = "cdp_events"
_COLUMNS = (
    "tenant_id", "message_id", "type", "event", "anonymous_id", "user_id", "previous_id", "group_id",
    "email_sha256", "phone_sha256", "properties", "traits", "context", "extra", "timestamp", "sent_at",
    "received_at", "source",
)  # fmt: skip
_COLUMN_LIST = ", ".join('"timestamp"' if c == "timestamp" else c for c in _COLUMNS)  # a keyword
_INSERT = (
    f"insert into raw.cdp_events ({_COLUMN_LIST}) values ({', '.join(['%s'] * len(_COLUMNS))})"
    " on conflict (tenant_id, message_id) do nothing"
)


def _row(tenant_id: str, source: str, event: Event) -> tuple:
    return (
        tenant_id, event.message_id, event.type, event.event, event.anonymous_id, event.user_id, event.previous_id,
        event.group_id, event.email_sha256, event.phone_sha256, Jsonb(jsonable(event.properties)),
        Jsonb(jsonable(event.traits)), Jsonb(jsonable(event.context)), Jsonb(jsonable(event.extra)),
        event.timestamp, event.sent_at, event.received_at, source,
    )  # fmt: skip


def insert_events(conn: psycopg.Connection, tenant_id: str, source: str, events: Sequence[Event]) -> int:
    """Insert in the caller's transaction; returns how many were new (a repeated messageId is skipped)."""
    if not events:
        return 0
    with conn.cursor() as cur:
        cur.executemany(_INSERT, [_row(tenant_id, source, e) for e in events], returning=False)
        return max(cur.rowcount, 0)


def quarantine_events(
    conn: psycopg.Connection,
    tenant_id: str,
    source: str,
    refused: Iterable[tuple[int | None, str, dict | None]],
) -> None:
    """(line number, reason, the raw payload or None) per refused event of ``tenant_id``, in the
    caller's transaction."""
    write_quarantine(
        conn,
        EVENTS_PLATFORM,
        EVENTS_STREAM,
        None,
        None,
        (QuarantinedRow(reason, payload, source, line) for line, reason, payload in refused),
        tenant_id,
    )


def clear_quarantine(conn: psycopg.Connection, tenant_id: str, source: str) -> None:
    conn.execute(
        "delete from raw.quarantine where tenant_id = %s and platform = %s and source = %s",
        (tenant_id, EVENTS_PLATFORM, source),
    )


# --- the events folder's files (raw.file_imports, beside the CSV imports) ----------------------------

EVENTS_FILE_STREAM = "raw.cdp_events"  # raw.file_imports.stream of an events file


def record_file_import(
    conn: psycopg.Connection,
    *,
    file_name: str,
    path: str,
    sha256: str,
    status: str,
    counts: dict[str, int | str],
    error: str | None = None,
    run_id: str | None = None,
) -> int:
    """One row per import attempt of an events file: ``loaded``, ``rejected`` (unreadable) or ``failed``.

    ``counts`` (lines, loaded, repeated, quarantined, tenant_id) go to the report: never event contents.
    """
    (import_id,) = conn.execute(
        "insert into raw.file_imports (file_name, source_path, sha256, stream, status, rows_loaded,"
        " rows_quarantined, rows_duplicate, report, error, run_id)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning import_id",
        (
            file_name,
            path,
            sha256,
            EVENTS_FILE_STREAM,
            status,
            counts.get("loaded", 0),
            counts.get("quarantined", 0),
            counts.get("repeated", 0),
            Jsonb(counts),
            error,
            run_id,
        ),
    ).fetchone()
    return int(import_id)


def count_events(conn: psycopg.Connection, tenant_id: str) -> int:
    return conn.execute("select count(*) from raw.cdp_events where tenant_id = %s", (tenant_id,)).fetchone()[
        0
    ]


# --- write keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteKey:
    key_id: int
    tenant_id: str
    name: str
    key_hint: str
    created_at: datetime
    revoked_at: datetime | None


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_write_key(conn: psycopg.Connection, tenant_id: str, name: str, *, actor: str) -> tuple[int, str]:
    """A new write key for ``tenant_id``: (id, the key). Only its hash is stored; show the key once."""
    key = "ask_" + secrets.token_urlsafe(24)
    with conn.transaction():
        key_id = conn.execute(
            "insert into app.collect_keys (tenant_id, name, key_sha256, key_hint, created_by)"
            " values (%s, %s, %s, %s, %s) returning key_id",
            (tenant_id, name, key_digest(key), key[:8] + "…", actor),
        ).fetchone()[0]
        audit(conn, tenant_id=tenant_id, actor=actor, event="collect_key.created", object_type="collect_key",
              object_id=key_id, details={"name": name})  # fmt: skip
    return key_id, key


def list_write_keys(conn: psycopg.Connection, tenant_id: str | None = None) -> list[WriteKey]:
    rows = conn.execute(
        "select key_id, tenant_id, name, key_hint, created_at, revoked_at from app.collect_keys"
        " where %(tenant)s::text is null or tenant_id = %(tenant)s order by key_id",
        {"tenant": tenant_id},
    ).fetchall()
    return [WriteKey(*row) for row in rows]


def revoke_write_key(conn: psycopg.Connection, key_id: int, *, actor: str) -> bool:
    with conn.transaction():
        row = conn.execute(
            "update app.collect_keys set revoked_at = now(), revoked_by = %s"
            " where key_id = %s and revoked_at is null returning tenant_id",
            (actor, key_id),
        ).fetchone()
        if row:
            audit(conn, tenant_id=row[0], actor=actor, event="collect_key.revoked", object_type="collect_key",
                  object_id=key_id)  # fmt: skip
    return row is not None


def tenant_of_key(conn: psycopg.Connection, key: str) -> str | None:
    """The tenant a live write key belongs to (None: unknown or revoked)."""
    row = conn.execute(
        "select k.tenant_id from app.collect_keys k join app.tenants t using (tenant_id)"
        " where k.key_sha256 = %s and k.revoked_at is null and t.status = 'active'",
        (key_digest(key),),
    ).fetchone()
    return row[0] if row else None
