"""``raw.file_imports``: which file contents were imported before, for CSV exports and event files."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from pipeline.config import DEFAULT_TENANT


def previous_import(
    conn: psycopg.Connection,
    sha256: str,
    *,
    statuses: Sequence[str],
    stream: str | None = None,
    other_than_stream: str | None = None,
    tenant_id: str | None = None,
) -> str | None:
    """Why an import skips this content (its latest import in one of ``statuses``), or None.

    ``stream`` / ``other_than_stream`` keep event files and CSV exports apart; ``tenant_id`` limits the
    lookup to one tenant's imports (event files record theirs in the report).
    """
    conditions, params = ["sha256 = %s", "status = any(%s)"], [sha256, list(statuses)]
    for condition, value in (
        ("stream = %s", stream),
        ("stream is distinct from %s", other_than_stream),
        # Imports recorded before tenants reached the raw layer were the default tenant's.
        (f"coalesce(report ->> 'tenant_id', '{DEFAULT_TENANT}') = %s", tenant_id),
    ):
        if value is not None:
            conditions.append(condition)
            params.append(value)
    found = conn.execute(
        "select status, file_name, imported_at, error from raw.file_imports"
        f" where {' and '.join(conditions)} order by imported_at desc limit 1",
        params,
    ).fetchone()
    if not found:
        return None
    status, file_name, imported_at, error = found
    when = imported_at.isoformat(timespec="seconds")
    if status == "rejected":
        return f"same content was rejected on {when} as {file_name}: {error}"
    return f"same content was imported on {when} as {file_name}"
