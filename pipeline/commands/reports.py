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


@reports.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Store the reports of FILE (create or update by tenant and name); an invalid file changes nothing."""
    from pipeline.reports.definition import ReportFileError
    from pipeline.reports.stored import import_reports
    from pipeline.warehouse.db import connect

    loaded = _load(file)
    with connect(command_url(migrate=True)) as conn:
        try:
            summary = import_reports(conn, loaded, source=str(file))
        except ReportFileError as exc:
            click.echo(f"{file}: refused ({len(exc.errors)} problem(s)):", err=True)
            for error in exc.errors:
                click.echo(f"  {error}", err=True)
            raise SystemExit(1) from exc
    for label, names in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
    ):
        if names:
            click.echo(f"{label:>9} {len(names)}: {', '.join(names)}")


@reports.command("run")
@click.argument("name")
@click.option(
    "--file",
    "file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The reports file that defines NAME (default: the imported definition).",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The period's reference day (its last complete day); default: the last day complete everywhere.",
)
@click.option(
    "--tenant", default=None, help="The report's tenant (default: the only one with NAME, else 'default')."
)
@click.option(
    "--period",
    default=None,
    help="Another period than the definition's: last_7_days, last_week, last_month, month_to_date,"
    " or FROM:TO dates (2026-11-01:2026-11-30).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the files go (default: <data dir>/reports); <out>/<tenant>/<report>/<period>/.",
)
def run_command(
    name: str,
    file: Path | None,
    as_of: datetime | None,
    tenant: str | None,
    period: str | None,
    out: Path | None,
) -> None:
    """Render report NAME for one period, write its files and record the run (re-running replaces it)."""
    from pipeline.config import last_complete_day, utc_now
    from pipeline.reports.run import ReportRunError, run_report
    from pipeline.reports.stored import stored_reports
    from pipeline.warehouse.db import connect

    url = command_url(migrate=True)
    if file is not None:
        candidates = _load(file)
        where = str(file)
    else:
        with connect(url) as conn:
            candidates = stored_reports(conn, tenant or DEFAULT_TENANT, name)
        where = "app.report_definitions (adsignal reports import FILE)"
    matches = [r for r in candidates if r.name == name and (tenant is None or r.tenant == tenant)]
    if not matches:
        raise InputError(
            f"no report '{name}'" + (f" of tenant '{tenant}'" if tenant else "") + f" in {where}"
        )
    if len(matches) > 1:
        raise InputError(
            f"'{name}' exists for tenants {', '.join(r.tenant for r in matches)}: choose with --tenant"
        )
    report = matches[0]
    if period is not None:
        from pipeline.reports.definition import ReportFileError, with_period

        try:
            report = with_period(report, period)
        except ReportFileError as exc:
            raise InputError("; ".join(exc.errors)) from exc
    day = as_of.date() if as_of is not None else last_complete_day(utc_now())
    try:
        run = run_report(url, report, day, out)
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
    """The imported reports with their schedule and latest run."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.reports_store import report_instances, stored_definitions

    with connect(command_url(migrate=True)) as conn:
        definitions = stored_definitions(conn, tenant)
        latest = {}
        for instance in report_instances(conn, tenant):
            latest.setdefault(instance.report_name, instance)
    rows = []
    for name, definition, source, _ in definitions:
        last = latest.get(name)
        period = definition["period"]
        rows.append(
            {
                "report": name,
                "period": period["kind"]
                if period["kind"] != "custom"
                else f"{period['from']} to {period['to']}",
                "schedule": definition.get("schedule"),
                "formats": definition["formats"],
                "last_period": f"{last.period_start}_{last.period_end}" if last else None,
                "last_status": last.status if last else None,
                "source": source,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No reports. Import some: adsignal reports import pipeline/examples/reports.yml")
        return
    table = Table(title=f"Reports of {tenant} (app.report_definitions)", title_justify="left")
    for column in ("report", "period", "schedule", "formats", "last run", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["report"],
            row["period"],
            row["schedule"] or "-",
            ", ".join(row["formats"]),
            row["last_period"] or "-",
            row["last_status"] or "-",
        )
    wide_console().print(table)


@reports.command("show")
@click.argument("name")
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--runs", type=int, default=5, show_default=True, help="How many recent runs to show.")
def show_command(name: str, tenant: str, runs: int) -> None:
    """An imported report's definition (as YAML) and its recent runs with their files."""
    import yaml

    from pipeline.warehouse.db import connect
    from pipeline.warehouse.reports_store import report_instances, stored_definitions

    with connect(command_url(migrate=True)) as conn:
        stored = stored_definitions(conn, tenant, name)
        instances = report_instances(conn, tenant, name)[:runs]
    if not stored:
        raise InputError(f"no report '{name}' of tenant '{tenant}' (adsignal reports list)")
    _, definition, source, updated_at = stored[0]
    click.echo(yaml.safe_dump(definition, sort_keys=False, allow_unicode=True).rstrip())
    click.echo(f"# source: {source or '-'}, imported {updated_at:%Y-%m-%d %H:%M}")
    for instance in instances:
        click.echo(
            f"\n{instance.period_start} to {instance.period_end}: {instance.status}"
            f" (updated {instance.updated_at:%Y-%m-%d %H:%M})"
            + (f" {instance.error}" if instance.error else "")
        )
        for record in instance.files:
            click.echo(f"  {record['path']}  {record['bytes']} bytes  sha256 {record['sha256']}")
