"""Window-replacing COPY loader for raw tables.

A sync of (stream, account, window) lands in one transaction: delete the window from the raw table,
then stream the API's pages through COPY straight into it. A record whose key was already copied in
this sync (an API repeating a record across pages) goes to a temporary table instead, and at the end
the last copy of each such key replaces the first. A failure anywhere rolls back to the previous
data; re-running is idempotent; restated values converge. Rows that cannot be keyed go to
``raw.quarantine`` with their reason instead of vanishing. Memory stays flat: pages are written as
they arrive and never collected; repeated keys are spotted with a fixed-size filter, not a set of
every key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from operator import methodcaller
from typing import Any

import orjson
import psycopg
from psycopg import sql

from pipeline.config import DEFAULT_TENANT
from pipeline.connectors.base import KeyColumn, Page, RawStream
from pipeline.warehouse.partitions import ensure_month_partitions, is_partitioned, partition_table_in_place

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
    tenant_id: str = DEFAULT_TENANT
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
    account_id: str | None = None  # the row's own account, where one write holds several (file imports)


def _table(stream: RawStream) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(RAW_SCHEMA), sql.Identifier(stream.table))


def ensure_raw_table(conn: psycopg.Connection, stream: RawStream) -> None:
    """Create ``raw.<platform>_<stream>`` from its declaration (tenant + keys + verbatim payload + sync columns).

    Every raw row belongs to a tenant (the connection's, or the one a file import names), and the
    tenant leads the primary key: two tenants may hold the same account and entity ids. A table
    created before tenants reached the raw layer gets the column (its rows: the default tenant) and
    the wider key here, in place.
    """
    key_columns = sql.SQL(", ").join(
        sql.SQL("{} {} not null").format(sql.Identifier(k.name), sql.SQL(k.pg_type)) for k in stream.keys
    )
    primary_key = sql.SQL(", ").join(sql.Identifier(n) for n in ("tenant_id", *stream.key_names))
    # Concurrent first syncs of one stream would race on CREATE TABLE IF NOT EXISTS.
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (stream.table,))
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(RAW_SCHEMA)))
    create = sql.SQL(
        "create table {exists} {table} (tenant_id text not null default {tenant}, {keys},"
        " payload jsonb not null, _sync_id uuid not null,"
        " _extracted_at timestamptz not null default now(), primary key ({pk})){partitioning}"
    )
    arguments = {
        "table": _table(stream),
        "tenant": sql.Literal(DEFAULT_TENANT),
        "keys": key_columns,
        "pk": primary_key,
        # Tables that grow with time are partitioned by month on their window (pipeline.warehouse.partitions).
        "partitioning": sql.SQL(" partition by range ({})").format(sql.Identifier(stream.window_column))
        if stream.window_column
        else sql.SQL(""),
    }
    conn.execute(create.format(exists=sql.SQL("if not exists"), **arguments))
    _add_tenant_column(conn, stream, primary_key)
    if stream.window_column and not is_partitioned(conn, RAW_SCHEMA, stream.table):
        partition_table_in_place(
            conn,
            RAW_SCHEMA,
            stream.table,
            create.format(exists=sql.SQL(""), **arguments),
            stream.window_column,
        )
    if stream.window_column:
        # Window replacement deletes, and incremental models read, a few days of a long history:
        # without this index both scan the whole table, so their cost would grow with history.
        index = f"{stream.table}_window_idx"
        exists = conn.execute("select to_regclass(%s)", (f"{RAW_SCHEMA}.{index}",)).fetchone()[0]
        if exists is None:
            conn.execute(
                sql.SQL("create index {index} on {table} ({window}, account_id)").format(
                    index=sql.Identifier(index),
                    table=_table(stream),
                    window=sql.Identifier(stream.window_column),
                )
            )
    if stream.description:
        conn.execute(
            sql.SQL("comment on table {} is {}").format(_table(stream), sql.Literal(stream.description))
        )


def _add_tenant_column(conn: psycopg.Connection, stream: RawStream, primary_key: sql.Composable) -> None:
    """Upgrade a raw table created before tenants: add ``tenant_id`` and lead the primary key with it."""
    has_tenant = conn.execute(
        "select 1 from pg_attribute where attrelid = %s::regclass and attname = 'tenant_id'"
        " and not attisdropped",
        (f"{RAW_SCHEMA}.{stream.table}",),
    ).fetchone()
    if has_tenant:
        return
    constraint = conn.execute(
        "select conname from pg_constraint where conrelid = %s::regclass and contype = 'p'",
        (f"{RAW_SCHEMA}.{stream.table}",),
    ).fetchone()
    table = _table(stream)
    conn.execute(
        sql.SQL("alter table {} add column tenant_id text not null default {}").format(
            table, sql.Literal(DEFAULT_TENANT)
        )
    )
    if constraint:
        conn.execute(
            sql.SQL("alter table {} drop constraint {}").format(table, sql.Identifier(constraint[0]))
        )
    conn.execute(sql.SQL("alter table {} add primary key ({})").format(table, primary_key))


def _normalize_key(key: KeyColumn, value: Any) -> Any:
    """Return the key value as PostgreSQL will store it, or raise ValueError naming the problem."""
    if value is None or value == "":
        raise ValueError(f"missing key {key.name} (payload path {key.path!r})")
    if key.pg_type == "date":
        return date.fromisoformat(str(value)[:10])
    if key.pg_type == "timestamp":  # hours are account-local wall-clock time, like dates
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    return str(value)


def _key_normalizer(key: KeyColumn) -> Callable[[Any], Any]:
    """``_normalize_key`` for one key, with the common cases done inline (it runs for every row)."""
    if key.pg_type == "date":

        def day(value: Any) -> Any:
            if type(value) is str and len(value) == 10:
                return date.fromisoformat(value)
            return _normalize_key(key, value)

        return day
    if key.pg_type != "text":
        return partial(_normalize_key, key)

    def text(value: Any) -> Any:
        if type(value) is str and value:
            return value
        return _normalize_key(key, value)

    return text


def _key_getter(key: KeyColumn) -> Callable[[dict[str, Any]], Any]:
    return methodcaller("get", key.path) if "." not in key.path else key.extract


def row_validator(
    stream: RawStream,
    account_id: str,
    since: date | None,
    until: date | None,
    scope: Mapping[str, str] | None = None,
) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """``validate_record`` with the stream's checks prepared once, for the loader's per-row loop."""
    readers = [(_key_getter(key), _key_normalizer(key)) for key in stream.keys]
    names = stream.key_names
    account_index = names.index("account_id") if "account_id" in names else None
    scope_checks = [(names.index(name), name, expected) for name, expected in (scope or {}).items()]
    window_index = names.index(stream.window_column) if stream.window_column and since and until else None
    window_column = stream.window_column

    def validate(record: dict[str, Any]) -> tuple[Any, ...]:
        if type(record) is dict:
            values = tuple([normalize(get(record)) for get, normalize in readers])
        else:  # not an object: KeyColumn.extract finds no key, and the reason says which
            values = tuple(_normalize_key(key, key.extract(record)) for key in stream.keys)
        if account_index is not None and values[account_index] != account_id:
            raise ValueError(
                f"record belongs to account {values[account_index]}, not the synced {account_id}"
            )
        for index, name, expected in scope_checks:
            if values[index] != expected:
                raise ValueError(f"record has {name}={values[index]}, outside the synced {name}={expected}")
        if window_index is not None:
            day = _window_day(values[window_index])
            if not since <= day <= until:  # type: ignore[operator]
                raise ValueError(f"{window_column}={day} outside the requested window {since}..{until}")
        return values

    return validate


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
    return row_validator(stream, account_id, since, until, scope)(record)


# Which keys a sync has already copied: a fixed-size filter of two probes per key instead of a set
# of every key, so memory stays flat however large the window. It never misses a key it has seen
# (a repeat can never hit the raw table's primary key); rarely (~1 % of rows at 10^6 keys) it
# claims one it has not, which only sends that row down the slower repeat path, loaded all the same.
SEEN_KEY_SLOTS = 1 << 24  # bytes; a power of two
REPEAT_BUFFER_ROWS = 1_000  # repeated records held in memory before they are flushed to _repeats


def _sync_lock_key(sync_id: uuid.UUID) -> int:
    """The advisory lock a sync's own connection holds while it runs (a signed 64-bit key)."""
    return int.from_bytes(sync_id.bytes[:8], "big", signed=True)


def reap_dead_syncs(url: str) -> int:
    """Mark ``running`` syncs whose process died (``kill -9``, a lost machine) ``failed``; how many.

    A running sync's connection holds its advisory lock (``_sync_lock_key``) from before its row is
    written until it ends; PostgreSQL drops the lock with the connection, so a ``running`` row whose
    lock can be taken belongs to nobody. Its window was rolled back with that connection.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        running = [
            row[0] for row in conn.execute("select sync_id from raw.sync_runs where status = 'running'")
        ]
        reaped = 0
        for sync_id in running:
            with conn.transaction():
                free = conn.execute(
                    "select pg_try_advisory_xact_lock(%s)", (_sync_lock_key(sync_id),)
                ).fetchone()[0]
                if free:
                    reaped += conn.execute(
                        "update raw.sync_runs set status = 'failed', finished_at = now(), error = %s"
                        " where sync_id = %s and status = 'running'",
                        ("the syncing process died before the sync ended; nothing of it was kept", sync_id),
                    ).rowcount
    return reaped


def _start_sync(url: str, result: LoadResult, platform: str, run_id: str | None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into raw.sync_runs (sync_id, tenant_id, platform, stream, account_id, window_start,"
            " window_end, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                result.sync_id,
                result.tenant_id,
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
    tenant_id: str = DEFAULT_TENANT,
) -> None:
    with conn.cursor().copy(
        "copy raw.quarantine (tenant_id, sync_id, platform, stream, account_id, source, line_number,"
        " reason, payload) from stdin"
    ) as copy:
        for row in rows:
            payload = orjson.dumps(row.payload).decode() if row.payload is not None else None
            account = row.account_id or account_id
            copy.write_row(
                (
                    tenant_id,
                    sync_id,
                    platform,
                    stream,
                    account,
                    row.source,
                    row.line_number,
                    row.reason,
                    payload,
                )
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
    tenant_id: str = DEFAULT_TENANT,
) -> LoadResult:
    """Replace ``tenant_id``'s ``stream`` rows for ``account_id`` (within ``since..until`` if windowed) by ``pages``.

    ``pages`` is consumed lazily inside the transaction; if it raises, nothing changes. ``scope``
    narrows the replacement to rows whose other text key columns have these values (file imports:
    ``{"platform": "linkedin"}``, because one raw table holds several platforms' accounts).
    """
    if stream.window_column and (since is None or until is None):
        raise ValueError(f"{stream.table} is windowed: since and until are required")
    if since and until and since > until:  # would delete nothing and quarantine every record
        raise ValueError(f"{stream.table}: the window is reversed: {since} is after {until}")
    unknown = set(scope or {}) - set(stream.key_names)
    if unknown:
        raise ValueError(f"{stream.table}: scope names non-key columns {sorted(unknown)}")
    result = LoadResult(uuid.uuid4(), stream.name, account_id, since, until, tenant_id)
    started = False
    try:
        with psycopg.connect(url) as conn, conn.transaction():
            # Held until the transaction ends, or the connection dies with its process: while it is
            # held, reap_dead_syncs leaves this sync's ``running`` row alone.
            conn.execute("select pg_advisory_xact_lock(%s)", (_sync_lock_key(result.sync_id),))
            _start_sync(url, result, stream.platform, run_id)
            started = True
            ensure_raw_table(conn, stream)
            if since and until and stream.window_column:
                ensure_month_partitions(conn, RAW_SCHEMA, stream.table, since, until)
            quarantined = _copy_and_swap(
                conn, stream, account_id, pages, since, until, result, source, scope or {}
            )
            if quarantined:
                write_quarantine(
                    conn, stream.platform, stream.name, account_id, result.sync_id, quarantined, tenant_id
                )
    except BaseException as exc:
        if not started:  # the database could not be reached: there is no sync row to end
            raise
        _finish_sync(url, result, f"{type(exc).__name__}: {exc}"[:2000])
        raise
    _finish_sync(url, result, None)
    return result


def _window_filter(
    stream: RawStream,
    tenant_id: str,
    account_id: str,
    since: date | None,
    until: date | None,
    scope: Mapping[str, str],
) -> tuple[sql.Composable, dict[str, Any]]:
    where = sql.SQL("tenant_id = %(tenant_id)s and account_id = %(account_id)s")
    params: dict[str, Any] = {"tenant_id": tenant_id, "account_id": account_id}
    window_key = stream.window_key
    if window_key and window_key.pg_type == "timestamp" and since and until:
        # Hourly streams: local-time hours belong to local days. A range on the column itself (not
        # its ::date) lets the window index find them.
        where += sql.SQL(" and {w} >= %(since)s::timestamp and {w} < %(after_until)s::timestamp").format(
            w=sql.Identifier(window_key.name)
        )
        params |= {"since": since, "after_until": until + timedelta(days=1)}
    elif stream.window_column:
        # ::date is a no-op on date columns and bounds any other type by its day.
        where += sql.SQL(" and {w}::date between %(since)s and %(until)s").format(
            w=sql.Identifier(stream.window_column)
        )
        params |= {"since": since, "until": until}
    for index, (name, value) in enumerate(sorted(scope.items())):
        where += sql.SQL(" and {} = {}").format(sql.Identifier(name), sql.Placeholder(f"scope_{index}"))
        params[f"scope_{index}"] = value
    return where, params


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
    """Delete the window, COPY the pages into the raw table, then let repeated keys' last copies win.

    The first copy of every key goes straight into the raw table (the window is already empty, and
    the transaction hides both steps until commit). Later copies of a key go to ``_repeats``; at
    the end each repeated key's row is replaced by its last copy. Without repeats (the normal case)
    the load is one COPY, as fast as a bare one.
    """
    table = _table(stream)
    keys = [sql.Identifier(n) for n in stream.key_names]
    key_list = sql.SQL(", ").join(keys)
    tenant_id = result.tenant_id
    where, params = _window_filter(stream, tenant_id, account_id, since, until, scope)
    conn.execute(sql.SQL("delete from {} where ").format(table) + where, params)

    validate = row_validator(stream, account_id, since, until, scope)
    seen, mask = bytearray(SEEN_KEY_SLOTS), SEEN_KEY_SLOTS - 1
    sync_id, dumps = str(result.sync_id), orjson.dumps
    quarantined: list[QuarantinedRow] = []
    repeats: list[tuple[Any, ...]] = []
    ordinal = valid = direct = repeated = 0
    direct_copy = sql.SQL("copy {table} (tenant_id, {keys}, payload, _sync_id) from stdin").format(
        table=table, keys=key_list
    )
    with ExitStack() as open_copy:
        copy = None
        for page in pages:
            result.pages += 1
            if copy is None:
                copy = open_copy.enter_context(conn.cursor().copy(direct_copy))
                write_row = copy.write_row
            for record in page:
                ordinal += 1
                try:
                    values = validate(record)
                except ValueError as exc:
                    _quarantine(quarantined, result, stream, account_id, str(exc), record, source, ordinal)
                    continue
                valid += 1
                digest = hash(values)
                first, second = digest & mask, (digest >> 32) & mask
                if seen[first] and seen[second]:
                    repeats.append((ordinal, *values, dumps(record).decode()))
                else:
                    seen[first] = seen[second] = 1
                    write_row((tenant_id, *values, dumps(record).decode(), sync_id))
                    direct += 1
            if len(repeats) >= REPEAT_BUFFER_ROWS:
                open_copy.close()  # one COPY at a time per connection: finish this one to flush
                copy = None
                repeated += _flush_repeats(conn, stream, repeats, first_flush=not repeated)
    if repeats:
        repeated += _flush_repeats(conn, stream, repeats, first_flush=not repeated)
    result.rows_quarantined = len(quarantined)

    loaded = direct
    if repeated:
        # A key in _repeats has its first copy in the table (this sync's: the window was emptied)
        # unless the filter claimed it falsely; either way its last copy is what stays.
        replaced = conn.execute(
            sql.SQL(
                "delete from {table} as t using (select distinct {keys} from _repeats) as r"
                " where t.tenant_id = %(tenant_id)s and {match}"
            ).format(
                table=table,
                keys=key_list,
                match=sql.SQL(" and ").join(sql.SQL("t.{k} = r.{k}").format(k=k) for k in keys),
            ),
            {"tenant_id": tenant_id},
        ).rowcount
        inserted = conn.execute(
            sql.SQL(
                "insert into {table} (tenant_id, {keys}, payload, _sync_id)"
                " select distinct on ({keys}) %(tenant_id)s, {keys}, payload, %(sync_id)s from _repeats"
                " order by {keys}, _ordinal desc"
            ).format(table=table, keys=key_list),
            {"sync_id": result.sync_id, "tenant_id": tenant_id},
        ).rowcount
        loaded += inserted - replaced
    result.rows_loaded = loaded
    result.rows_deduplicated = valid - loaded
    return quarantined


def _quarantine(
    quarantined: list[QuarantinedRow],
    result: LoadResult,
    stream: RawStream,
    account_id: str,
    reason: str,
    record: Any,
    source: str | None,
    ordinal: int,
) -> None:
    label = reason.split(":")[0]
    result.quarantine_reasons[label] = result.quarantine_reasons.get(label, 0) + 1
    quarantined.append(QuarantinedRow(reason, record, source, ordinal))
    if len(quarantined) > MAX_QUARANTINE_ROWS_PER_SYNC:
        raise QuarantineOverflow(
            f"{stream.table} account {account_id}: more than {MAX_QUARANTINE_ROWS_PER_SYNC}"
            f" invalid rows (first: {quarantined[0].reason}); nothing was loaded"
        ) from None


def _flush_repeats(
    conn: psycopg.Connection, stream: RawStream, repeats: list[tuple[Any, ...]], *, first_flush: bool
) -> int:
    """COPY the buffered repeated records into ``_repeats`` (created on the first flush); how many."""
    columns = sql.SQL(", ").join(sql.Identifier(n) for n in stream.key_names)
    if first_flush:
        conn.execute(
            sql.SQL(
                "create temporary table _repeats (_ordinal bigint not null, {cols}, payload jsonb not null)"
                " on commit drop"
            ).format(
                cols=sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(k.name), sql.SQL(k.pg_type)) for k in stream.keys
                )
            )
        )
    with conn.cursor().copy(
        sql.SQL("copy _repeats (_ordinal, {cols}, payload) from stdin").format(cols=columns)
    ) as copy:
        for row in repeats:
            copy.write_row(row)
    flushed = len(repeats)
    repeats.clear()
    return flushed
