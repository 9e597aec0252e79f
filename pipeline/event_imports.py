"""`adsignal events import`: Segment-spec JSON Lines files (optionally gzip) into ``raw.cdp_events``.

One transaction per file: every line is parsed and validated (``pipeline.connectors.events``); good
events are inserted in batches (a messageId already loaded is skipped, so a re-import adds nothing),
bad lines go to ``raw.quarantine`` with the file, line number and reason, replacing that file's earlier
quarantine. Memory stays flat: the file is streamed, never read whole.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg

from pipeline.config import DEFAULT_TENANT, utc_now
from pipeline.connectors.events import Event, EventError, parse_line, scrub_pii
from pipeline.warehouse.events_store import (
    EVENTS_PLATFORM,
    clear_quarantine,
    insert_events,
    quarantine_events,
)

BATCH = 5_000


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


def import_events_file(url: str, path: Path, *, tenant_id: str = DEFAULT_TENANT) -> EventImportReport:
    report = EventImportReport(file=path.name, tenant_id=tenant_id)
    source = f"file:{path.name}"
    received_at = utc_now()
    keep_pii = store_pii()
    with psycopg.connect(url) as conn, conn.transaction():
        clear_quarantine(conn, source)  # this file's bad lines replace those of its earlier imports
        batch: list[Event] = []
        refused: list[tuple[int | None, str, dict | None]] = []

        def flush() -> None:
            new = insert_events(conn, tenant_id, source, batch)
            report.loaded += new
            report.repeated += len(batch) - new
            batch.clear()

        for number, line in _lines(path):
            report.lines += 1
            try:
                batch.append(parse_line(line, received_at=received_at, store_pii=keep_pii))
            except EventError as exc:
                refused.append((number, str(exc), _payload(line, keep_pii)))
            if len(batch) >= BATCH:
                flush()
        flush()
        if refused:
            quarantine_events(conn, source, refused)
        report.quarantined = len(refused)
    return report
