"""Window-replacing COPY loader for raw tables.

A sync of (stream, account, window) lands in one transaction: stream the API's pages through COPY
into a temporary table, delete the window from the raw table, insert the new rows (the last copy of a
key wins when an API repeats a record across pages). A failure anywhere rolls back to the previous
data; re-running is idempotent; restated values converge. Rows that cannot be keyed go to
``raw.quarantine`` with their reason instead of vanishing. Memory stays flat: pages are written as
they arrive and never collected.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from pipeline.connectors.base import KeyColumn, Page, RawStream

RAW_SCHEMA = "raw"
MAX_QUARANTINE_ROWS_PER_SYNC = 10_000  # beyond this the sync fails: the source is broken, not a row


class QuarantineOverflow(RuntimeError):
    pass


@dataclass
class LoadResult:
    sync_id: uuid.UUID
    stream: str
    account_id: str
    window_start: date | None
    window_end: date | None
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_deduplicated: int = 0
    pages: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QuarantinedRow:
    reason: str
    payload: dict[str, Any] | None
    source: str | None = None
    line_number: int | None = None


def _table(stream: RawStream) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(RAW_SCHEMA), sql.Identifier(stream.table))


def ensure_raw_table(conn: psycopg.Connection, stream: RawStream) -> None:
    """Create ``raw.<platform>_<stream>`` from its declaration (keys + verbatim payload + sync columns)."""
    key_columns = sql.SQL(", ").join(
        sql.SQL("{} {} not null").format(sql.Identifier(k.name), sql.SQL(k.pg_type)) for k in stream.keys
    )
    # Concurrent first syncs of one stream would race on CREATE TABLE IF NOT EXISTS.
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (stream.table,))
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA)))
    conn.execute(
        sql.SQL(
            "create table if not exists {table} ({keys}, payload jsonb not null, _sync_id uuid not null,"
            " _extracted_at timestamptz not null default now(), primary key ({pk}))"
        ).format(
            table=_table(stream),
            keys=key_columns,
            pk=sql.SQL(", ").join(sql.Identifier(n) for n in stream.key_names),
        )
    )
    if stream.description:
        conn.execute(
            sql.SQL("comment on table {} is {}").format(_table(stream), sql.Literal(stream.description))
        )


def _normalize_key(key: KeyColumn, value: Any) -> Any:
    """Return the key value as PostgreSQL will store it, or raise ValueError naming the problem."""
    if value is None or value == "":
        raise ValueError(f"missing key {key.name} (payload path {key.path!r})")
    if key.pg_type == "date":
        return date.fromisoformat(str(value)[:10])
    if key.pg_type == "timestamp":  # hours are account-local wall-clock time, like dates
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    return str(value)


def _window_day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def validate_record(
    stream: RawStream,
    record: dict[str, Any],
    account_id: str,
    since: date | None,
    until: date | None,
    scope: Mapping[str, str] | None = None,
) -> tuple[Any, ...]:
    """Key values of one record, or ValueError with a reason a person can act on."""
    values = tuple(_normalize_key(key, key.extract(record)) for key in stream.keys)
    by_name = dict(zip(stream.key_names, values, strict=True))
    if "account_id" in by_name and by_name["account_id"] != account_id:
        raise ValueError(f"record belongs to account {by_name['account_id']}, not the synced {account_id}")
    for name, expected in (scope or {}).items():
        if by_name[name] != expected:
            raise ValueError(f"record has {name}={by_name[name]}, outside the synced {name}={expected}")
    if stream.window_column and since and until:
        day = _window_day(by_name[stream.window_column])
        if not since <= day <= until:
            raise ValueError(f"{stream.window_column}={day} outside the requested window {since}..{until}")
    return values


def _start_sync(url: str, result: LoadResult, platform: str, run_id: str | None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into raw.sync_runs (sync_id, platform, stream, account_id, window_start, window_end, run_id)"
            " values (%s, %s, %s, %s, %s, %s, %s)",
            (
                result.sync_id,
                platform,
                result.stream,
                result.account_id,
                result.window_start,
                result.window_end,
                run_id,
            ),
        )


def _finish_sync(url: str, result: LoadResult, error: str | None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update raw.sync_runs set finished_at = now(), status = %s, rows_loaded = %s,"
            " rows_quarantined = %s, rows_deduplicated = %s, error = %s where sync_id = %s",
            (
                "failed" if error else "succeeded",
                result.rows_loaded,
                result.rows_quarantined,
                result.rows_deduplicated,
                error,
                result.sync_id,
            ),
        )


def write_quarantine(
    conn: psycopg.Connection,
    platform: str,
    stream: str,
    account_id: str | None,
    sync_id: uuid.UUID | None,
    rows: Iterable[QuarantinedRow],
) -> None:
    with conn.cursor().copy(
        "copy raw.quarantine (sync_id, platform, stream, account_id, source, line_number, reason, payload)"
        " from stdin"
    ) as copy:
        for row in rows:
            payload = orjson.dumps(row.payload).decode() if row.payload is not None else None
            copy.write_row(
                (sync_id, platform, stream, account_id, row.source, row.line_number, row.reason, payload)
            )


def replace_window(
    url: str,
    stream: RawStream,
    account_id: str,
    pages: Iterable[Page],
    *,
    since: date | None = None,
    until: date | None = None,
    run_id: str | None = None,
    source: str | None = None,
    scope: Mapping[str, str] | None = None,
) -> LoadResult:
    """Replace ``stream``'s rows for ``account_id`` (within ``since..until`` if windowed) by ``pages``.

    ``pages`` is consumed lazily inside the transaction; if it raises, nothing changes. ``scope``
    narrows the replacement to rows whose other text key columns have these values (file imports:
    ``{"platform": "linkedin"}``, because one raw table holds several platforms' accounts).
    """
    if stream.window_column and (since is None or until is None):
        raise ValueError(f"{stream.table} is windowed: since and until are required")
    unknown = set(scope or {}) - set(stream.key_names)
    if unknown:
        raise ValueError(f"{stream.table}: scope names non-key columns {sorted(unknown)}")
    result = LoadResult(uuid.uuid4(), stream.name, account_id, since, until)
    _start_sync(url, result, stream.platform, run_id)
    try:
        with psycopg.connect(url) as conn, conn.transaction():
            ensure_raw_table(conn, stream)
            quarantined = _copy_and_swap(
                conn, stream, account_id, pages, since, until, result, source, scope or {}
            )
            if quarantined:
                write_quarantine(conn, stream.platform, stream.name, account_id, result.sync_id, quarantined)
    except BaseException as exc:
        _finish_sync(url, result, f"{type(exc).__name__}: {exc}"[:2000])
        raise
    _finish_sync(url, result, None)
    return result


def _copy_and_swap(
    conn: psycopg.Connection,
    stream: RawStream,
    account_id: str,
    pages: Iterable[Page],
    since: date | None,
    until: date | None,
    result: LoadResult,
    source: str | None,
    scope: Mapping[str, str],
) -> list[QuarantinedRow]:
    keys = [sql.Identifier(n) for n in stream.key_names]
    key_list = sql.SQL(", ").join(keys)
    conn.execute(
        sql.SQL(
            "create temporary table _incoming (_ordinal bigint not null, {cols}, payload jsonb not null)"
            " on commit drop"
        ).format(
            cols=sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(k.name), sql.SQL(k.pg_type)) for k in stream.keys
            )
        )
    )
    quarantined: list[QuarantinedRow] = []
    ordinal = 0
    with conn.cursor().copy(
        sql.SQL("copy _incoming (_ordinal, {keys}, payload) from stdin").format(keys=key_list)
    ) as copy:
        for page in pages:
            result.pages += 1
            for record in page:
                ordinal += 1
                try:
                    values = validate_record(stream, record, account_id, since, until, scope)
                except ValueError as exc:
                    reason = str(exc)
                    result.quarantine_reasons[reason.split(":")[0]] = (
                        result.quarantine_reasons.get(reason.split(":")[0], 0) + 1
                    )
                    quarantined.append(QuarantinedRow(reason, record, source, ordinal))
                    if len(quarantined) > MAX_QUARANTINE_ROWS_PER_SYNC:
                        raise QuarantineOverflow(
                            f"{stream.table} account {account_id}: more than {MAX_QUARANTINE_ROWS_PER_SYNC}"
                            f" invalid rows (first: {quarantined[0].reason}); nothing was loaded"
                        ) from None
                    continue
                copy.write_row((ordinal, *values, orjson.dumps(record).decode()))
    result.rows_quarantined = len(quarantined)

    table = _table(stream)
    where = sql.SQL("account_id = %(account_id)s")
    params: dict[str, Any] = {"account_id": account_id}
    if stream.window_column:
        # ::date also bounds hourly streams, whose local-time hours belong to local days.
        where += sql.SQL(" and {w}::date between %(since)s and %(until)s").format(
            w=sql.Identifier(stream.window_column)
        )
        params |= {"since": since, "until": until}
    for index, (name, value) in enumerate(sorted(scope.items())):
        where += sql.SQL(" and {} = {}").format(sql.Identifier(name), sql.Placeholder(f"scope_{index}"))
        params[f"scope_{index}"] = value
    conn.execute(sql.SQL("delete from {} where ").format(table) + where, params)
    inserted = conn.execute(
        sql.SQL(
            "insert into {table} ({keys}, payload, _sync_id)"
            " select distinct on ({keys}) {keys}, payload, %(sync_id)s from _incoming"
            " order by {keys}, _ordinal desc"
        ).format(table=table, keys=key_list),
        {"sync_id": result.sync_id},
    ).rowcount
    result.rows_loaded = inserted
    result.rows_deduplicated = ordinal - len(quarantined) - inserted
    return quarantined
