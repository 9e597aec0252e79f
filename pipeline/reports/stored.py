"""Imported report definitions (``app.report_definitions``) and the daily run of the ones due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from pydantic import ValidationError

from pipeline.reports.definition import ReportDefinition, ReportFileError
from pipeline.reports.run import ReportRun, ReportRunError, run_report
from pipeline.reports.schedule import is_due
from pipeline.warehouse import reports_store as store
from pipeline.warehouse.db import connect


def definition_document(report: ReportDefinition) -> dict[str, Any]:
    """The definition as stored: JSON, with the file's own keys (``from`` / ``to``), defaults included
    so a later change of a default does not change what an imported report does."""
    return report.model_dump(mode="json", by_alias=True)


def import_reports(
    conn: psycopg.Connection, reports: Sequence[ReportDefinition], source: str | None
) -> store.ImportSummary:
    """Store validated definitions by (tenant, name); refused as a whole if a tenant does not exist."""
    unknown = sorted({r.tenant for r in reports if store.tenant_name(conn, r.tenant) is None})
    if unknown:
        raise ReportFileError(
            [f"tenant: unknown tenant '{t}' (see adsignal tenants list)" for t in unknown], source
        )
    return store.import_definitions(
        conn, [(r.tenant, r.name, definition_document(r)) for r in reports], source=source
    )


def stored_reports(
    conn: psycopg.Connection, tenant_id: str, name: str | None = None
) -> list[ReportDefinition]:
    """A tenant's imported definitions (raises ``ReportFileError`` if one no longer validates)."""
    reports = []
    for report_name, document, _, _ in store.stored_definitions(conn, tenant_id, name):
        try:
            reports.append(ReportDefinition.model_validate(document))
        except ValidationError as exc:
            raise ReportFileError(
                [str(exc)], source=f"app.report_definitions {tenant_id}/{report_name}"
            ) from exc
    return reports


@dataclass
class DueRuns:
    """What one day's scheduled run did."""

    succeeded: list[ReportRun] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # tenant/report -> error
    not_due: list[str] = field(default_factory=list)


def run_due_reports(url: str, tenant_ids: Sequence[str], as_of: date, out_dir: Path | None = None) -> DueRuns:
    """Run every stored report of ``tenant_ids`` whose schedule is due for ``as_of``; one failing
    report does not stop the others (its failure is in its instance and in the result)."""
    with connect(url) as conn:
        reports = [report for tenant_id in tenant_ids for report in stored_reports(conn, tenant_id)]
    result = DueRuns()
    for report in reports:
        label = f"{report.tenant}/{report.name}"
        if not is_due(report.schedule, as_of):
            result.not_due.append(label)
            continue
        try:
            result.succeeded.append(run_report(url, report, as_of, out_dir))
        except ReportRunError as exc:
            result.failed[label] = str(exc)
    return result
