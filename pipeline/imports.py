"""Import CSV files of the generic format (``pipeline.connectors.csv_import``) into ``raw.csv_*``.

A file is the truth for each account it contains, between that account's first and last day in
the file: importing replaces exactly those (platform, account, days) in one transaction per
account, so re-importing a file changes nothing and a corrected file replaces what its first
version loaded. Days of the window the file has no rows for end up empty (the file says the account
had no delivery then). Rows that break the format go to ``raw.quarantine`` with the file, line
and reason; an account whose rows are *all* bad is not touched at all (its previous data stays)
and the report says so. ``raw.file_imports`` records every import with the file's sha256, which
is how ``import_folder`` skips files it has seen.

Two passes: the whole file is validated first, good rows spooled per account to a temporary
directory (memory stays flat), and only then are windows replaced, so a file rejected as a whole
(not UTF-8, wrong header, mostly invalid) changes nothing. No Dagster here: the asset and the
``adsignal import`` command call these functions.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import psycopg

from pipeline.connectors.base import RawStream
from pipeline.connectors.csv_import import SOURCE, BadRow, CsvFormatError, GoodRow, open_csv
from pipeline.warehouse.loader import (
    MAX_QUARANTINE_ROWS_PER_SYNC,
    LoadResult,
    QuarantinedRow,
    replace_window,
    write_quarantine,
)

PAGE_SIZE = 1_000
KEPT_PREVIOUS_DATA = "every row of this account was rejected: nothing replaced, its previous data is kept"


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

    @property
    def label(self) -> str:
        return f"{self.platform}:{self.account_id}"


@dataclass
class ImportReport:
    file_name: str
    path: str
    sha256: str
    stream: str | None = None  # the raw table, e.g. raw.csv_ad_performance_daily
    status: str = "succeeded"  # succeeded | failed (some accounts) | rejected (the whole file)
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


class _AccountSpool:
    """Good rows of one account, written to a temporary file while the rest of the file is read."""

    def __init__(self, directory: Path, index: int) -> None:
        self.path = directory / f"account-{index}.jsonl"
        self._handle: BinaryIO | None = self.path.open("wb")

    def add(self, record: dict[str, Any]) -> None:
        assert self._handle is not None
        self._handle.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        if self._handle:
            self._handle.close()
            self._handle = None

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        self.close()
        page: list[dict[str, Any]] = []
        with self.path.open("rb") as handle:
            for line in handle:
                page.append(orjson.loads(line))
                if len(page) == PAGE_SIZE:
                    yield page
                    page = []
        if page:
            yield page


def import_file(
    url: str, path: str | Path, *, run_id: str | None = None, today: date | None = None
) -> ImportReport:
    """Import one CSV file; see the module docstring for what is replaced and what is kept.

    Raises CsvFormatError when the file cannot be imported at all (nothing changed; the rejection
    is recorded in raw.file_imports) and ImportFailed when some accounts failed to load (the others
    are loaded; the report is on the exception). ``today`` bounds dates (tests).
    """
    path = Path(path)
    report = ImportReport(path.name, str(path.resolve()), file_sha256(path))
    with tempfile.TemporaryDirectory(prefix="adsignal-import-") as spool_dir:
        try:
            stream, spools, bad_rows = _validate_file(path, report, Path(spool_dir), today)
        except CsvFormatError as exc:
            report.status, report.error = "rejected", str(exc)
            _record_import(url, report, run_id)
            raise
        for account in report.accounts:
            spool = spools.get((account.platform, account.account_id))
            if spool is None:
                account.note = KEPT_PREVIOUS_DATA
                continue
            try:
                result = _replace_account(url, stream, account, spool, report.path, run_id)
            except Exception as exc:  # one account's failure must not block the others
                report.failures[account.label] = f"{type(exc).__name__}: {exc}"
                continue
            account.replaced, account.rows_loaded = True, result.rows_loaded
            report.rows_loaded += result.rows_loaded
    _quarantine(url, stream, report.path, bad_rows)
    report.status = "failed" if report.failures else "succeeded"
    _record_import(url, report, run_id)
    if report.failures:
        detail = "; ".join(f"account {a}: {e}" for a, e in report.failures.items())
        raise ImportFailed(f"{path.name}: {len(report.failures)} account(s) failed — {detail}", report)
    return report


def _validate_file(
    path: Path, report: ImportReport, spool_dir: Path, today: date | None
) -> tuple[RawStream, dict[tuple[str, str], _AccountSpool], list[BadRow]]:
    """Pass 1: validate every row, spool good ones per account, collect bad ones (bounded)."""
    spools: dict[tuple[str, str], _AccountSpool] = {}
    accounts: dict[tuple[str, str], AccountImport] = {}
    bad_rows: list[BadRow] = []
    reasons: Counter[str] = Counter()
    with open_csv(path, today=today) as rows:
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
                if key not in spools:
                    spools[key] = _AccountSpool(spool_dir, len(spools))
                spools[key].add(item.record)
                continue
            bad_rows.append(item)
            reasons.update(p.category for p in item.problems)
            if account is not None:
                account.rows_quarantined += 1
                account.rows_duplicate += item.is_duplicate
            if len(bad_rows) > MAX_QUARANTINE_ROWS_PER_SYNC:
                first = bad_rows[0]
                raise CsvFormatError(
                    f"{path.name}: more than {MAX_QUARANTINE_ROWS_PER_SYNC} invalid rows (first: line"
                    f" {first.line_number}: {first.reason}); nothing was imported — is this the"
                    " generic CSV format?"
                )
        report.rows_read, report.blank_lines = rows.rows_read, rows.blank_lines
        stream = rows.stream
    report.accounts = sorted(accounts.values(), key=lambda a: (a.platform, a.account_id))
    report.rows_quarantined = len(bad_rows)
    report.rows_duplicate = sum(row.is_duplicate for row in bad_rows)
    report.quarantine_reasons = dict(reasons.most_common())
    return stream, spools, bad_rows


def _replace_account(
    url: str,
    stream: RawStream,
    account: AccountImport,
    spool: _AccountSpool,
    source: str,
    run_id: str | None,
) -> LoadResult:
    """Pass 2: one transaction replaces the account's (platform, days) window by the file's rows."""
    result = replace_window(
        url,
        stream,
        account.account_id,
        spool.pages(),
        since=account.window_start,
        until=account.window_end,
        run_id=run_id,
        source=source,
        # One raw table holds every platform's files: never touch another platform's account.
        scope={"platform": account.platform},
    )
    if result.rows_quarantined:  # cannot happen for validated rows; fail loudly if it ever does
        raise RuntimeError(f"the loader quarantined {result.rows_quarantined} validated rows: {result}")
    return result


def _quarantine(url: str, stream: RawStream, source: str, bad_rows: list[BadRow]) -> None:
    """Bad rows of this file replace those of its earlier imports: the quarantine shows the latest."""
    by_account: dict[str | None, list[QuarantinedRow]] = {}
    for row in bad_rows:
        account_id = row.account[1] if row.account else None
        by_account.setdefault(account_id, []).append(
            QuarantinedRow(row.reason, row.payload, source, row.line_number)
        )
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("delete from raw.quarantine where platform = %s and source = %s", (SOURCE, source))
        for account_id, rows in by_account.items():
            write_quarantine(conn, SOURCE, stream.name, account_id, None, rows)


def _record_import(url: str, report: ImportReport, run_id: str | None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into raw.file_imports (file_name, source_path, sha256, stream, status, rows_loaded,"
            " rows_quarantined, rows_duplicate, report, error, run_id)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        )


def import_folder(
    url: str, folder: str | Path, *, run_id: str | None = None, today: date | None = None
) -> FolderImportReport:
    """Import every ``*.csv`` in ``folder`` whose content was not imported (or rejected) before.

    Files are imported in name order, so when two files cover the same account and days the one
    whose name sorts last wins: name exports with their date (``linkedin_2026-05-31.csv``). A file
    rejected as a whole is not retried until its content changes. Raises ImportFailed (with the
    report) after trying every file if any was rejected or failed.
    """
    folder = Path(folder)
    report = FolderImportReport(str(folder.resolve()))
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    for path in files:
        seen = _previous_import(url, file_sha256(path))
        if seen:
            report.skipped[path.name] = seen
            continue
        try:
            report.imported.append(import_file(url, path, run_id=run_id, today=today))
        except CsvFormatError as exc:
            report.rejected[path.name] = str(exc)
        except ImportFailed as exc:
            assert isinstance(exc.report, ImportReport)
            report.imported.append(exc.report)
            report.failed[path.name] = str(exc)
        except Exception as exc:  # e.g. the file vanished or became unreadable mid-scan
            report.failed[path.name] = f"{type(exc).__name__}: {exc}"
    problems = {**report.rejected, **report.failed}
    if problems:
        detail = "; ".join(f"{name}: {why}" for name, why in problems.items())
        raise ImportFailed(f"{folder}: {len(problems)} file(s) not imported — {detail}", report)
    return report


def _previous_import(url: str, sha256: str) -> str | None:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select status, file_name, imported_at, error from raw.file_imports"
            " where sha256 = %s and status in ('succeeded', 'rejected') order by imported_at desc limit 1",
            (sha256,),
        ).fetchone()
    if not found:
        return None
    status, file_name, imported_at, error = found
    when = imported_at.isoformat(timespec="seconds")
    if status == "rejected":
        return f"same content was rejected on {when} as {file_name}: {error}"
    return f"same content was imported on {when} as {file_name}"
