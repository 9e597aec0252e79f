"""`adsignal events import`: Segment-spec JSON Lines files (optionally gzip) into ``raw.cdp_events``.

One transaction per file: every line is parsed and validated (``pipeline.connectors.events``); good
events are inserted in batches (a messageId already loaded is skipped, so a re-import adds nothing),
bad lines go to ``raw.quarantine`` with the file, line number and reason, replacing that file's earlier
quarantine. Memory stays flat: the file is streamed, never read whole. A gzip stream that is broken or
cut off (``EventFileUnreadable``) rolls the whole file back.

The events folder (``ADSIGNAL_EVENTS_DIR``, its Dagster asset and sensor) goes through
``import_events_folder``: every new or changed ``*.jsonl``/``*.ndjson`` (optionally ``.gz``) is imported
as above; ``raw.file_imports`` remembers each file's sha256, so a re-scan skips what it has seen. A file
is left for a later scan while it is younger than ``SETTLE_SECONDS`` (still being written), and one that
changes while it is read is rolled back (``EventFileChanged``), so a half-written file is never loaded
half. No Dagster here.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import psycopg

from pipeline.config import DEFAULT_TENANT, utc_now
from pipeline.connectors.events import Event, EventError, parse_line, scrub_pii
from pipeline.imports import file_sha256
from pipeline.warehouse.events_store import (
    EVENTS_FILE_STREAM,
    EVENTS_PLATFORM,
    clear_quarantine,
    insert_events,
    quarantine_events,
    record_file_import,
)
from pipeline.warehouse.file_imports_store import previous_import

BATCH = 5_000
EVENT_FILE_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
# A file modified this recently may still be being written: the folder import leaves it for a later scan.
SETTLE_SECONDS = 30


class EventFileUnreadable(ValueError):
    """The file cannot be read as a whole (a broken or cut-off gzip stream): nothing of it was imported."""


class EventFileChanged(RuntimeError):
    """The file changed while it was read: nothing of it was imported (a later scan imports it whole)."""


@dataclass
class EventImportReport:
    file: str
    tenant_id: str
    lines: int = 0
    loaded: int = 0  # new rows
    repeated: int = 0  # messageIds already in the warehouse (or twice in the file)
    quarantined: int = 0

    def summary(self) -> str:
        return (
            f"{self.file}: {self.lines:,} lines, {self.loaded:,} events loaded, {self.repeated:,} already there,"
            f" {self.quarantined:,} quarantined (raw.quarantine, platform '{EVENTS_PLATFORM}')"
        )

    def counts(self) -> dict[str, int]:
        """What the folder import reports per file: counts only, never an event's contents."""
        return {
            "lines": self.lines,
            "loaded": self.loaded,
            "repeated": self.repeated,
            "quarantined": self.quarantined,
        }


def store_pii() -> bool:
    return os.environ.get("ADSIGNAL_STORE_PII", "").strip() in ("1", "true", "yes")


def _open(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _payload(line: bytes, keep_pii: bool) -> dict | None:
    """What the quarantine keeps of a refused line: the object (PII hashed) when it parses; of text that is
    not JSON only its size, since it may hold anything."""
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"unparsed_bytes": len(line)}
    value = value if isinstance(value, dict) else {"value": value}
    return value if keep_pii else scrub_pii(value)


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def import_events_file(
    url: str,
    path: Path,
    *,
    tenant_id: str = DEFAULT_TENANT,
    expect_unchanged: os.stat_result | None = None,
) -> EventImportReport:
    """Import one file in one transaction. With ``expect_unchanged`` (the stat a folder scan saw), a file
    that differs from it once read is rolled back with ``EventFileChanged``: it was still being written."""
    report = EventImportReport(file=path.name, tenant_id=tenant_id)
    source = f"file:{path.name}"
    received_at = utc_now()
    keep_pii = store_pii()
    with psycopg.connect(url) as conn, conn.transaction():
        clear_quarantine(
            conn, tenant_id, source
        )  # this file's bad lines replace those of its earlier imports
        batch: list[Event] = []
        refused: list[tuple[int | None, str, dict | None]] = []

        def flush() -> None:
            new = insert_events(conn, tenant_id, source, batch)
            report.loaded += new
            report.repeated += len(batch) - new
            batch.clear()

        try:
            for number, line in _lines(path):
                report.lines += 1
                try:
                    batch.append(parse_line(line, received_at=received_at, store_pii=keep_pii))
                except EventError as exc:
                    refused.append((number, str(exc), _payload(line, keep_pii)))
                if len(batch) >= BATCH:
                    flush()
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # raised inside the transaction: rolled back
            why = str(exc) or type(exc).__name__
            raise EventFileUnreadable(
                f"{path.name}: not a readable gzip file ({why}); nothing imported from it"
            ) from None
        flush()
        if expect_unchanged is not None and _identity(path.stat()) != _identity(expect_unchanged):
            raise EventFileChanged(
                f"{path.name}: changed while it was read (still being written?); nothing imported from it,"
                " the next scan imports it whole"
            )
        if refused:
            quarantine_events(conn, tenant_id, source, refused)
        report.quarantined = len(refused)
    return report


# --- the events folder -------------------------------------------------------------------------------


@dataclass
class EventFolderReport:
    folder: str
    tenant_id: str
    imported: list[EventImportReport] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why (its content was seen before)
    # modified within SETTLE_SECONDS, or changed while read: still being written, left for a later scan
    waiting: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # file name -> why it cannot be read
    failed: dict[str, str] = field(default_factory=dict)  # file name -> error (retried at the next scan)

    def totals(self) -> dict[str, int]:
        return {
            key: sum(r.counts()[key] for r in self.imported)
            for key in ("lines", "loaded", "repeated", "quarantined")
        }

    def summary(self) -> dict[str, Any]:
        """Counts, file names and reasons per file: never an event's contents."""
        return {
            "folder": self.folder,
            "tenant_id": self.tenant_id,
            "imported": {r.file: r.counts() for r in self.imported},
            "skipped": self.skipped,
            "waiting": self.waiting,
            "rejected": self.rejected,
            "failed": self.failed,
            **self.totals(),
        }


class EventFolderImportFailed(RuntimeError):
    """Some files were rejected or failed; every other file was imported and stays (re-running is safe)."""

    def __init__(self, message: str, report: EventFolderReport) -> None:
        super().__init__(message)
        self.report = report


def event_files(folder: Path) -> list[Path]:
    """The folder's event exports, in name order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(EVENT_FILE_SUFFIXES))


def is_settled(stat: os.stat_result, now: datetime) -> bool:
    """Unmodified for SETTLE_SECONDS: whoever wrote the file is done with it."""
    return now.timestamp() - stat.st_mtime >= SETTLE_SECONDS


def import_events_folder(
    url: str,
    folder: Path,
    *,
    now: datetime,
    tenant_id: str = DEFAULT_TENANT,
    run_id: str | None = None,
) -> EventFolderReport:
    """Import every settled event file of ``folder`` whose content was not imported (or rejected) before.

    Each attempt is recorded in ``raw.file_imports`` (stream ``raw.cdp_events``). A file that cannot be
    read is ``rejected`` and not retried until its content changes; one that hit another error is
    ``failed`` and retried. One that changed while read is rolled back and left ``waiting``, like one
    modified within SETTLE_SECONDS: no failure, the sensor sees it change and a later run imports it.
    Raises EventFolderImportFailed (with the report) after trying every file if any was rejected or failed.
    """
    report = EventFolderReport(str(folder.resolve()), tenant_id)
    for path in event_files(folder):
        name = path.name
        try:
            stat = path.stat()
            if not is_settled(stat, now):
                report.waiting.append(name)
                continue
            sha256 = file_sha256(path)
        except FileNotFoundError:  # moved away since the listing: nothing to import
            continue
        except OSError as exc:  # e.g. no permission to read it
            report.failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        with psycopg.connect(url) as conn:
            # ``failed`` imports (changed while read, a read error) are not listed: the next scan retries
            seen = previous_import(
                conn, sha256, statuses=("loaded", "rejected"), stream=EVENTS_FILE_STREAM, tenant_id=tenant_id
            )
        if seen:
            report.skipped[name] = seen
            continue
        status, error, counts = "loaded", None, {}
        try:
            imported = import_events_file(url, path, tenant_id=tenant_id, expect_unchanged=stat)
        except EventFileChanged:
            report.waiting.append(name)
            continue
        except EventFileUnreadable as exc:
            status, error = "rejected", str(exc)
            report.rejected[name] = error
        except Exception as exc:  # one file's failure must not block the others
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            report.failed[name] = error
        else:
            report.imported.append(imported)
            counts = imported.counts()
        with psycopg.connect(url, autocommit=True) as conn:
            record_file_import(
                conn,
                file_name=name,
                path=str(path.resolve()),
                sha256=sha256,
                status=status,
                counts={**counts, "tenant_id": tenant_id},
                error=error,
                run_id=run_id,
            )
    problems = {**report.rejected, **report.failed}
    if problems:
        detail = "; ".join(f"{name}: {why}" for name, why in problems.items())
        raise EventFolderImportFailed(f"{folder}: {len(problems)} file(s) not imported — {detail}", report)
    return report
