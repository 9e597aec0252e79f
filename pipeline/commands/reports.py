"""`adsignal reports`: validate a reports file, run one report for a period, list the runs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from pipeline.commands._common import InputError, command_url, wide_console
from pipeline.config import DEFAULT_TENANT


def _load(path: Path) -> list:
    from pipeline.reports.definition import ReportFileError, load_reports_file

    try:
        return load_reports_file(path)
    except ReportFileError as exc:
        click.echo(f"{path}: refused ({len(exc.errors)} problem(s)):", err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        raise SystemExit(1) from exc


@click.group("reports")
def reports() -> None:
    """Scheduled reports: HTML / PDF / CSV of a tenant's marts for a period (see docs/reports.md)."""


@reports.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_command(file: Path) -> None:
    """Check a reports file (exit code 1 and every problem, each naming its field, if invalid)."""
    loaded = _load(file)
    click.echo(f"{file}: {len(loaded)} valid report(s): {', '.join(r.name for r in loaded)}")


@reports.command("run")
@click.argument("name")
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The reports file that defines NAME.",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The period's reference day (its last complete day); default: the last day complete everywhere.",
)
@click.option(
    "--tenant", default=None, help="Only the report of this tenant (when several tenants share NAME)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the files go (default: <data dir>/reports); <out>/<tenant>/<report>/<period>/.",
)
def run_command(name: str, file: Path, as_of: datetime | None, tenant: str | None, out: Path | None) -> None:
    """Render report NAME for one period, write its files and record the run (re-running replaces it)."""
    from pipeline.config import last_complete_day, utc_now
    from pipeline.reports.run import ReportRunError, run_report

    matches = [r for r in _load(file) if r.name == name and (tenant is None or r.tenant == tenant)]
    if not matches:
        raise InputError(f"no report '{name}'" + (f" of tenant '{tenant}'" if tenant else "") + f" in {file}")
    if len(matches) > 1:
        raise InputError(
            f"'{name}' exists for tenants {', '.join(r.tenant for r in matches)}: choose with --tenant"
        )
    day = as_of.date() if as_of is not None else last_complete_day(utc_now())
    try:
        run = run_report(command_url(migrate=True), matches[0], day, out)
    except ReportRunError as exc:
        click.echo(f"failed: {exc}", err=True)
        raise SystemExit(1) from exc
    instance = run.instance
    click.echo(f"{name} {instance.period_start}_{instance.period_end}: {instance.status} -> {run.directory}")
    for record in instance.files:
        click.echo(f"  {record['name']:<16} {record['bytes']:>9} bytes  sha256 {record['sha256'][:16]}")


@reports.command("list")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
def list_command(tenant: str, as_json: bool) -> None:
    """The recorded runs (app.report_instances), latest period first."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.reports_store import report_instances

    with connect(command_url(migrate=True)) as conn:
        instances = report_instances(conn, tenant)
    rows = [
        {
            "report": i.report_name,
            "period_start": i.period_start.isoformat(),
            "period_end": i.period_end.isoformat(),
            "status": i.status,
            "files": len(i.files),
            "error": i.error,
            "updated_at": i.updated_at.isoformat(),
        }
        for i in instances
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(
            "No report runs yet. Try: adsignal reports run weekly-performance --file pipeline/examples/reports.yml"
        )
        return
    table = Table(title=f"Report runs of {tenant} (app.report_instances)", title_justify="left")
    for column in ("report", "period", "status", "files", "updated", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["report"],
            f"{row['period_start']} to {row['period_end']}",
            row["status"],
            str(row["files"]),
            row["updated_at"][:16].replace("T", " "),
            row["error"] or "",
        )
    wide_console().print(table)
