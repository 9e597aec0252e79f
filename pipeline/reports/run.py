"""One run of a report for one period: read, render, write the files, deliver, record the instance.

Files are rendered into ``<out_dir>/<tenant>/<report>/<period>/`` (``out_dir`` defaults to the data
dir's ``reports/``), replacing what an earlier run of the same period left there: the directory is
written beside the old one and swapped in, so a reader never sees half of each. A ``folder``
destination without a path is that directory; one with a path gets a copy under the same layout.
``webhook`` and ``email`` destinations are sent by ``pipeline.reports.delivery``, which skips those the
period's previous instance already records as sent with the same content (never twice).
Either way the run ends with one ``app.report_instances`` row for the period, replaced on re-runs,
``failed`` with the error when something went wrong (the exception is raised after it is recorded).
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipeline.config import settings, utc_now
from pipeline.reports import delivery as remote
from pipeline.reports.content import ReportContent, collect_report
from pipeline.reports.definition import Period, ReportDefinition, resolve_period
from pipeline.reports.render import csv_tables, render_csv, render_html, render_pdf
from pipeline.warehouse import reports_store as store
from pipeline.warehouse.access_store import reporting_currency_of
from pipeline.warehouse.db import connect


class ReportRunError(RuntimeError):
    """A run failed; its ``failed`` instance is recorded (``instance``) unless the tenant is unknown."""

    def __init__(self, message: str, instance: store.ReportInstance | None = None) -> None:
        super().__init__(message)
        self.instance = instance


@dataclass(frozen=True)
class ReportRun:
    instance: store.ReportInstance
    directory: Path
    content: ReportContent


def default_reports_dir() -> Path:
    return settings().data_dir / "reports"


def period_directory(base: Path, definition: ReportDefinition, period: Period) -> Path:
    return base / definition.tenant / definition.name / period.label


def render_files(content: ReportContent) -> dict[str, bytes]:
    """File name -> bytes for the definition's formats."""
    formats = content.definition.formats
    files: dict[str, bytes] = {}
    if "html" in formats or "pdf" in formats:
        html = render_html(content)
        if "html" in formats:
            files["report.html"] = html.encode("utf-8")
        if "pdf" in formats:
            files["report.pdf"] = render_pdf(html)
    if "csv" in formats:
        for table in csv_tables(content):
            files[table.filename] = render_csv(table, content.currency).encode("utf-8")
    return files


def _replace_directory(target: Path, files: dict[str, bytes]) -> list[dict[str, Any]]:
    """Write ``files`` as the whole content of ``target``; their records (path, bytes, sha256)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    staging.mkdir()
    try:
        for name, content in files.items():
            (staging / name).write_bytes(content)
        retired = target.with_name(f".{target.name}.old.{uuid.uuid4().hex}")
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [
        {
            "name": name,
            "path": str(target / name),
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        for name, content in files.items()
    ]


DELIVERED = ("delivered", *remote.DONE)  # folder copies say "delivered"; sent ones "sent" / "already_sent"


def _deliver(
    definition: ReportDefinition,
    period: Period,
    run_directory: Path,
    package: remote.Package,
    previous: list[dict[str, Any]],
    options: remote.DeliveryOptions | None,
) -> list[dict[str, Any]]:
    files = package.files
    deliveries = []
    for index, destination in enumerate(definition.destinations):
        if destination.type != "folder":
            deliveries.append(remote.deliver(destination, package, previous, options))
            continue
        record: dict[str, Any] = {"destination": f"{destination.type}[{index}]", "attempts": 1, "error": None}
        if destination.path is None:
            record |= {"target": str(run_directory), "status": "delivered"}
        else:
            target = period_directory(destination.path, definition, period)
            try:
                _replace_directory(target, files)
                record |= {"target": str(target), "status": "delivered"}
            except OSError as exc:
                record |= {"target": str(target), "status": "failed", "error": str(exc)}
        record["finished_at"] = utc_now().isoformat()
        deliveries.append(record)
    return deliveries


def run_report(
    url: str,
    definition: ReportDefinition,
    as_of: date,
    out_dir: Path | None = None,
    *,
    now: datetime | None = None,
    delivery: remote.DeliveryOptions | None = None,
) -> ReportRun:
    """Run ``definition`` for the period ending by ``as_of`` (its last complete day)."""
    base = out_dir or default_reports_dir()
    period = resolve_period(definition.period, as_of)
    generated_at = now or utc_now()
    with connect(url, autocommit=True) as conn:
        if store.tenant_name(conn, definition.tenant) is None:
            raise ReportRunError(f"tenant: unknown tenant '{definition.tenant}' (see adsignal tenants list)")
        record = {
            "tenant_id": definition.tenant,
            "report_name": definition.name,
            "period_start": period.start,
            "period_end": period.end,
        }
        directory = period_directory(base, definition, period)
        earlier = store.instance_for_period(
            conn, definition.tenant, definition.name, period.start, period.end
        )
        # What earlier runs of the period sent: skipped now, and kept on a failed run so a later one skips them too.
        sent_before = [d for d in earlier.deliveries if d.get("status") in remote.DONE] if earlier else []
        try:
            content = collect_report(
                conn,
                definition,
                as_of,
                generated_at=generated_at,
                default_currency=reporting_currency_of(
                    conn, definition.tenant, settings().reporting_currency
                ),
            )
            files = render_files(content)
            written = _replace_directory(directory, files)
            package = remote.Package(
                definition, period, generated_at, files, remote.content_fingerprint(content)
            )
            deliveries = _deliver(definition, period, directory, package, sent_before, delivery)
        except Exception as exc:
            instance = store.save_instance(
                conn,
                **record,
                status="failed",
                files=[],
                deliveries=sent_before,
                error=f"{type(exc).__name__}: {exc}",
            )
            raise ReportRunError(f"{definition.name} {period.label}: {exc}", instance) from exc
        failed = [d for d in deliveries if d["status"] not in DELIVERED]
        error = "; ".join(f"{d['destination']}: {d['error']}" for d in failed) or None
        instance = store.save_instance(
            conn,
            **record,
            status="failed" if failed else "succeeded",
            files=written,
            deliveries=deliveries,
            error=error,
        )
    if failed:
        raise ReportRunError(f"{definition.name} {period.label}: delivery failed: {error}", instance)
    return ReportRun(instance=instance, directory=directory, content=content)
