"""Import CSV files of the generic format (``pipeline.connectors.csv_import``) into ``raw.csv_*``.

A file is the truth for each account it contains, between that account's first and last day in
the file: importing replaces exactly those (platform, account, days) in one transaction per
account, so re-importing a file changes nothing and a corrected file replaces what its first
version loaded. Days of the window the file has no rows for end up empty (the file says the account
had no delivery then). Rows that break the format go to ``raw.quarantine`` with the file, line
and reason; an account whose rows are *all* bad is not touched at all (its previous data stays)
and the report says so. ``raw.file_imports`` records every import with the file's sha256, which
is how ``import_folder`` skips files it has seen, and its status: ``loaded`` (rows in raw),
``failed`` (some accounts not loaded), ``rejected`` (the file refused), then, once the marts were
rebuilt for the replaced days, ``rebuilt`` or ``rebuild_failed`` (with the error): an import whose
rebuild failed is never reported as a success.

Two passes: the whole file is validated first, good rows spooled per account to files in a spool
directory, and only then are windows replaced, so a file rejected as a whole (not UTF-8, wrong
header, mostly invalid) changes nothing. Memory stays flat whatever the file's size: rows, bad
rows and the keys seen (for duplicate reports) are on disk, never in lists or sets. Spools live
under ``<data dir>/spool``, each locked by its process; one whose process died (``kill -9``) is
removed by the next import. No Dagster here: the asset and the ``adsignal import`` command call
these functions.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import psycopg

from pipeline.config import DEFAULT_TENANT
from pipeline.connectors.base import RawStream
from pipeline.connectors.csv_import import (
    SOURCE,
    CsvFormatError,
    GoodRow,
    SeenKeys,
    iana_timezones,
    open_csv,
)
from pipeline.import_spool import AccountSpools, BadRowSpool, ImportSpool, spool_root
from pipeline.warehouse.access_store import get_tenant
from pipeline.warehouse.connector_overlap import connector_days
from pipeline.warehouse.events_store import EVENTS_FILE_STREAM
from pipeline.warehouse.file_imports_store import previous_import
from pipeline.warehouse.loader import (
    MAX_QUARANTINE_ROWS_PER_SYNC,
    LoadResult,
    QuarantinedRow,
    replace_window,
    write_quarantine,
)

KEPT_PREVIOUS_DATA = "every row of this account was rejected: nothing replaced, its previous data is kept"


class UnknownTenant(ValueError):
    """The import names a tenant that does not exist or is disabled; nothing was imported."""


class ImportFailed(RuntimeError):
    """Some accounts (or files) failed; everything else was imported and stays (re-running is safe)."""

    def __init__(self, message: str, report: ImportReport | FolderImportReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class AccountImport:
    platform: str
    account_id: str
    window_start: date | None = None
    window_end: date | None = None
    rows_loaded: int = 0
    rows_quarantined: int = 0  # duplicates included
    rows_duplicate: int = 0
    replaced: bool = False
    note: str | None = None
    # Days of the window the platform's own connector also has: there its rows are shown, these not.
    connector_days: int = 0

    @property
    def connector_note(self) -> str | None:
        if not self.connector_days:
            return None
        return (
            f"{self.connector_days} day(s) of this window also come from the {self.platform} connector:"
            " there the connector's rows are in the marts and this file's are left out"
            " (dbt test warn_file_rows_left_out_for_connector_rows lists them)"
        )

    @property
    def label(self) -> str:
        return f"{self.platform}:{self.account_id}"


@dataclass
class ImportReport:
    file_name: str
    path: str
    sha256: str
    tenant_id: str = DEFAULT_TENANT  # whose rows these are
    stream: str | None = None  # the raw table, e.g. raw.csv_ad_performance_daily
    # loaded | failed (some accounts) | rejected (the whole file); then rebuilt | rebuild_failed
    status: str = "loaded"
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0  # duplicates included
    rows_duplicate: int = 0
    blank_lines: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)  # "column: problem" -> rows
    ignored_columns: list[str] = field(default_factory=list)
    accounts: list[AccountImport] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # "platform:account_id" -> error
    error: str | None = None
    import_id: int | None = None  # its raw.file_imports row

    @property
    def windows(self) -> list[tuple[str, str, date, date]]:
        """(platform, account_id, first day, last day) of every window that was replaced."""
        return [
            (a.platform, a.account_id, a.window_start, a.window_end)
            for a in self.accounts
            if a.replaced and a.window_start and a.window_end
        ]

    @property
    def window_start(self) -> date | None:
        """First replaced day of any account: with ``window_end``, the days dbt must rebuild."""
        return min((w[2] for w in self.windows), default=None)

    @property
    def window_end(self) -> date | None:
        return max((w[3] for w in self.windows), default=None)

    @property
    def accounts_kept(self) -> list[str]:
        """Accounts whose rows were all rejected, so their previous data was left in place."""
        return [a.label for a in self.accounts if a.note == KEPT_PREVIOUS_DATA]

    def summary(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "path": self.path,
            "sha256": self.sha256,
            "tenant_id": self.tenant_id,
            "stream": self.stream,
            "status": self.status,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_duplicate": self.rows_duplicate,
            "blank_lines": self.blank_lines,
            "quarantine_reasons": self.quarantine_reasons,
            "ignored_columns": self.ignored_columns,
            "accounts": [
                asdict(a)
                | {
                    "window_start": a.window_start and a.window_start.isoformat(),
                    "window_end": a.window_end and a.window_end.isoformat(),
                    "connector_note": a.connector_note,
                }
                for a in self.accounts
            ],
            "accounts_kept": self.accounts_kept,
            "window_start": self.window_start and self.window_start.isoformat(),
            "window_end": self.window_end and self.window_end.isoformat(),
            "failures": self.failures,
            "error": self.error,
        }


@dataclass
class FolderImportReport:
    folder: str
    imported: list[ImportReport] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why (seen before)
    rejected: dict[str, str] = field(default_factory=dict)  # file name -> why the file was refused
    failed: dict[str, str] = field(default_factory=dict)  # file name -> error

    @property
    def window_start(self) -> date | None:
        return min((r.window_start for r in self.imported if r.window_start), default=None)

    @property
    def window_end(self) -> date | None:
        return max((r.window_end for r in self.imported if r.window_end), default=None)

    def summary(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "imported": [r.summary() for r in self.imported],
            "skipped": self.skipped,
            "rejected": self.rejected,
            "failed": self.failed,
            "rows_loaded": sum(r.rows_loaded for r in self.imported),
            "rows_quarantined": sum(r.rows_quarantined for r in self.imported),
            "window_start": self.window_start and self.window_start.isoformat(),
            "window_end": self.window_end and self.window_end.isoformat(),
        }


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    url: str,
    path: str | Path,
    *,
    run_id: str | None = None,
    today: date | None = None,
    spool_dir: Path | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> ImportReport:
    """Import one CSV file as ``tenant_id``'s rows; see the module docstring for what is replaced and kept.

    Raises CsvFormatError when the file cannot be imported at all (nothing changed; the rejection
    is recorded in raw.file_imports) and ImportFailed when some accounts failed to load (the others
    are loaded; the report is on the exception). ``today`` bounds dates (tests); ``spool_dir``
    replaces ``spool_root()``. The import is recorded as ``loaded``: ``record_rebuild`` says how the
    rebuild of the marts went.
    """
    path = Path(path)
    check_tenant(url, tenant_id)
    report = ImportReport(path.name, str(path.resolve()), file_sha256(path), tenant_id)
    with ImportSpool(spool_dir or spool_root()) as spool:
        accounts = AccountSpools(spool.path)
        bad_rows = BadRowSpool(spool.path / "bad-rows.jsonl")
        try:
            stream = _validate_file(url, path, report, spool.path, accounts, bad_rows, today)
        except CsvFormatError as exc:
            report.status, report.error = "rejected", str(exc)
            report.import_id = _record_import(url, report, run_id)
            raise
        finally:
            accounts.close()
            bad_rows.close()
        for account in report.accounts:
            key = (account.platform, account.account_id)
            if key not in accounts:
                account.note = KEPT_PREVIOUS_DATA
                continue
            try:
                result = _replace_account(
                    url, stream, account, accounts.pages(key), report.path, run_id, tenant_id
                )
            except Exception as exc:  # one account's failure must not block the others
                report.failures[account.label] = f"{type(exc).__name__}: {exc}"
                continue
            account.replaced, account.rows_loaded = True, result.rows_loaded
            report.rows_loaded += result.rows_loaded
        _note_connector_days(url, report.accounts, tenant_id)
        _quarantine(url, stream, report.path, bad_rows, tenant_id)
    report.status = "failed" if report.failures else "loaded"
    report.import_id = _record_import(url, report, run_id)
    if report.failures:
        detail = "; ".join(f"account {a}: {e}" for a, e in report.failures.items())
        raise ImportFailed(f"{path.name}: {len(report.failures)} account(s) failed — {detail}", report)
    return report


def check_tenant(url: str, tenant_id: str) -> None:
    """Raise UnknownTenant unless ``tenant_id`` is an active tenant (rows must not land as nobody's)."""
    with psycopg.connect(url) as conn:
        tenant = get_tenant(conn, tenant_id)
    if tenant is None:
        raise UnknownTenant(
            f"no tenant {tenant_id!r}; add it with `adsignal tenants add {tenant_id} --name ...`"
        )
    if tenant.status != "active":
        raise UnknownTenant(f"tenant {tenant_id!r} is {tenant.status}: nothing is imported for it")


def _note_connector_days(url: str, accounts: list[AccountImport], tenant_id: str) -> None:
    """Say up front which loaded days the platform's own connector also has (its rows win there)."""
    with psycopg.connect(url) as conn:
        for account in accounts:
            if account.replaced and account.window_start and account.window_end:
                account.connector_days = connector_days(
                    conn,
                    account.platform,
                    account.account_id,
                    account.window_start,
                    account.window_end,
                    tenant_id,
                )


def warehouse_timezones(url: str) -> frozenset[str]:
    """Zone names both Python and the warehouse's PostgreSQL know (the hourly staging casts need both)."""
    with psycopg.connect(url) as conn:
        names = {name for (name,) in conn.execute("select name from pg_timezone_names")}
    return iana_timezones() & names


def _validate_file(
    url: str,
    path: Path,
    report: ImportReport,
    spool_dir: Path,
    spools: AccountSpools,
    bad_rows: BadRowSpool,
    today: date | None,
) -> RawStream:
    """Pass 1: validate every row, spool good ones per account and bad ones (at most the quarantine's cap)."""
    accounts: dict[tuple[str, str], AccountImport] = {}
    reasons: Counter[str] = Counter()
    seen_keys = SeenKeys(spool_dir / "keys.sqlite")
    try:
        with open_csv(path, today=today, seen_keys=seen_keys, timezones=warehouse_timezones(url)) as rows:
            report.stream = f"raw.{rows.stream.table}"
            report.ignored_columns = list(rows.ignored_columns)
            for item in rows:
                key = item.account
                account = accounts.setdefault(key, AccountImport(*key)) if key else None
                if isinstance(item, GoodRow):
                    assert account is not None
                    day = item.row.day
                    account.window_start = min(account.window_start or day, day)
                    account.window_end = max(account.window_end or day, day)
                    spools.add(key, item.record)
                    continue
                bad_rows.add(item)
                reasons.update(p.category for p in item.problems)
                if account is not None:
                    account.rows_quarantined += 1
                    account.rows_duplicate += item.is_duplicate
                if bad_rows.rows > MAX_QUARANTINE_ROWS_PER_SYNC:
                    first = bad_rows.first
                    assert first is not None
                    raise CsvFormatError(
                        f"{path.name}: more than {MAX_QUARANTINE_ROWS_PER_SYNC} invalid rows (first: line"
                        f" {first.line_number}: {first.reason}); nothing was imported — is this the"
                        " generic CSV format?"
                    )
            report.rows_read, report.blank_lines = rows.rows_read, rows.blank_lines
            stream = rows.stream
    finally:
        seen_keys.close()
    report.accounts = sorted(accounts.values(), key=lambda a: (a.platform, a.account_id))
    report.rows_quarantined = bad_rows.rows
    report.rows_duplicate = bad_rows.duplicates
    report.quarantine_reasons = dict(reasons.most_common())
    return stream


def _replace_account(
    url: str,
    stream: RawStream,
    account: AccountImport,
    pages: Iterator[list[dict[str, Any]]],
    source: str,
    run_id: str | None,
    tenant_id: str,
) -> LoadResult:
    """Pass 2: one transaction replaces the account's (platform, days) window by the file's rows."""
    result = replace_window(
        url,
        stream,
        account.account_id,
        pages,
        since=account.window_start,
        until=account.window_end,
        run_id=run_id,
        source=source,
        # One raw table holds every platform's files: never touch another platform's account.
        scope={"platform": account.platform},
        tenant_id=tenant_id,
    )
    if result.rows_quarantined:  # cannot happen for validated rows; fail loudly if it ever does
        raise RuntimeError(f"the loader quarantined {result.rows_quarantined} validated rows: {result}")
    return result


def _quarantine(url: str, stream: RawStream, source: str, bad_rows: BadRowSpool, tenant_id: str) -> None:
    """Bad rows of this file replace those of its earlier imports: the quarantine shows the latest."""
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(
            "delete from raw.quarantine where tenant_id = %s and platform = %s and source = %s",
            (tenant_id, SOURCE, source),
        )
        write_quarantine(
            conn,
            SOURCE,
            stream.name,
            None,
            None,
            (
                QuarantinedRow(reason, payload, source, line_number, account_id=account_id)
                for account_id, line_number, reason, payload in bad_rows
            ),
            tenant_id,
        )


def _record_import(url: str, report: ImportReport, run_id: str | None) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        (import_id,) = conn.execute(
            "insert into raw.file_imports (file_name, source_path, sha256, stream, status, rows_loaded,"
            " rows_quarantined, rows_duplicate, report, error, run_id)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning import_id",
            (
                report.file_name,
                report.path,
                report.sha256,
                report.stream,
                report.status,
                report.rows_loaded,
                report.rows_quarantined,
                report.rows_duplicate,
                orjson.dumps(report.summary()).decode(),
                report.error,
                run_id,
            ),
        ).fetchone()
    return int(import_id)


def record_rebuild(
    url: str,
    *,
    import_ids: list[int] | None = None,
    import_run_id: str | None = None,
    error: str | None = None,
    rebuild_run_id: str | None = None,
) -> int:
    """Record how the rebuild of the marts after some imports went; how many imports it updated.

    The imports are ``import_ids`` (the command) or those of the Dagster run ``import_run_id`` (the
    folder sensor's rebuild). ``loaded`` ones become ``rebuilt``, or ``rebuild_failed`` with
    ``error``; ``failed`` ones (some accounts not loaded) keep their status, the rebuild's error is
    recorded beside it. ``rejected`` files loaded nothing and are left alone.
    """
    if (import_ids is None) == (import_run_id is None):
        raise ValueError("give exactly one of import_ids or import_run_id")
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "update raw.file_imports set"
            " status = case when status = 'failed' then status"
            "   when %(error)s::text is null then 'rebuilt' else 'rebuild_failed' end,"
            " rebuild_error = %(error)s, rebuild_run_id = %(rebuild_run_id)s, rebuilt_at = now()"
            " where status <> 'rejected' and stream <> %(events_stream)s"
            "   and (import_id = any(%(ids)s) or run_id = %(run_id)s)",
            {
                # the daily run imports the events folder too: its files have no marts to rebuild
                "events_stream": EVENTS_FILE_STREAM,
                "error": error[:4000] if error else None,
                "rebuild_run_id": rebuild_run_id,
                "ids": import_ids or [],
                "run_id": import_run_id,
            },
        ).rowcount


def import_folder(
    url: str,
    folder: str | Path,
    *,
    run_id: str | None = None,
    today: date | None = None,
    spool_dir: Path | None = None,
) -> FolderImportReport:
    """Import every ``*.csv`` in ``folder`` whose content was not imported (or rejected) before.

    Files directly in ``folder`` are the default tenant's; files in a subfolder named after a tenant
    (``<folder>/acme/*.csv``) are that tenant's. A subfolder naming no active tenant is reported
    rejected, its files untouched. Files are imported in name order, so when two files cover the
    same account and days the one whose name sorts last wins: name exports with their date
    (``linkedin_2026-05-31.csv``). A file rejected as a whole is not retried until its content
    changes. Raises ImportFailed (with the report) after trying every file if any was rejected or
    failed.
    """
    folder = Path(folder)
    report = FolderImportReport(str(folder.resolve()))
    files = [(DEFAULT_TENANT, p.name, p) for p in _csv_files(folder)]
    for subfolder in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            check_tenant(url, subfolder.name)
        except UnknownTenant as exc:
            report.rejected[f"{subfolder.name}/"] = str(exc)
            continue
        files += [(subfolder.name, f"{subfolder.name}/{p.name}", p) for p in _csv_files(subfolder)]
    for tenant_id, name, path in files:
        seen = _previous_import(url, file_sha256(path), tenant_id)
        if seen:
            report.skipped[name] = seen
            continue
        try:
            report.imported.append(
                import_file(url, path, run_id=run_id, today=today, spool_dir=spool_dir, tenant_id=tenant_id)
            )
        except CsvFormatError as exc:
            report.rejected[name] = str(exc)
        except ImportFailed as exc:
            assert isinstance(exc.report, ImportReport)
            report.imported.append(exc.report)
            report.failed[name] = str(exc)
        except Exception as exc:  # e.g. the file vanished or became unreadable mid-scan
            report.failed[name] = f"{type(exc).__name__}: {exc}"
    problems = {**report.rejected, **report.failed}
    if problems:
        detail = "; ".join(f"{name}: {why}" for name, why in problems.items())
        raise ImportFailed(f"{folder}: {len(problems)} file(s) not imported — {detail}", report)
    return report


def _csv_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")


def _previous_import(url: str, sha256: str, tenant_id: str) -> str | None:
    with psycopg.connect(url) as conn:
        # Not 'failed' (some accounts not loaded) nor 'rebuild_failed': importing again retries.
        # Another tenant's import of the same content is theirs: this tenant's rows are not in yet.
        return previous_import(
            conn,
            sha256,
            statuses=("loaded", "rebuilt", "rejected"),
            other_than_stream=EVENTS_FILE_STREAM,
            tenant_id=tenant_id,
        )
