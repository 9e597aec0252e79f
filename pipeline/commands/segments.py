"""`adsignal segments`: validate, import, list, show, preview and refresh segments of profiles."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from pipeline.commands._common import command_url, make_actor_option, wide_console
from pipeline.config import DEFAULT_TENANT

actor_option = make_actor_option("Who did it (recorded in the audit log).")
tenant_option = click.option("--tenant", "tenant_id", default=DEFAULT_TENANT, show_default=True)


def _load(path: Path) -> list:
    from pipeline.analytics.segments import SegmentFileError, parse_segments

    try:
        return parse_segments(path.read_text(encoding="utf-8"), source=str(path))
    except SegmentFileError as exc:
        click.echo(f"{path}: refused, nothing changed ({len(exc.errors)} problem(s)):", err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        raise SystemExit(1) from exc


@click.group("segments")
def segments() -> None:
    """Segments of profiles: conditions on traits, computed traits and event counts (see docs/first-party.md)."""


@segments.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_command(file: Path) -> None:
    """Check a segments file without storing anything (exit code 1 and every problem if invalid)."""
    loaded = _load(file)
    click.echo(f"{file}: {len(loaded)} valid segment(s): {', '.join(s.name for s in loaded)}")


@segments.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option
@actor_option
def import_command(file: Path, tenant_id: str, actor: str) -> None:
    """Create or update (by name) the segments of a YAML file; an invalid file changes nothing."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.segments_store import upsert_segments

    loaded = _load(file)
    with connect(command_url(migrate=True)) as conn:
        outcome = upsert_segments(conn, loaded, tenant_id=tenant_id, source=str(file), actor=actor)
    for label, names in outcome.items():
        if names:
            click.echo(f"{label}: {', '.join(names)}")


@segments.command("list")
@tenant_option
def list_command(tenant_id: str) -> None:
    """Segments with their member count and last refresh."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.segments_store import list_segments

    with connect(command_url()) as conn:
        rows = list_segments(conn, tenant_id)
    table = Table(title=f"Segments of {tenant_id} (app.cdp_segments)", title_justify="left")
    for column in ("segment", "profiles", "computed", "enabled", "description"):
        table.add_column(column)
    for s in rows:
        computed = f"{s.last_computed_at:%Y-%m-%d %H:%M}" if s.last_computed_at else "-"
        count = "-" if s.profile_count is None else f"{s.profile_count:,}"
        table.add_row(s.name, count, computed, "yes" if s.enabled else "no", s.description)
    wide_console().print(table)


@segments.command("preview")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option
@click.option("--sample", default=5, show_default=True, help="How many member ids to show per segment.")
def preview_command(file: Path, tenant_id: str, sample: int) -> None:
    """How many profiles each segment of FILE would hold now (nothing stored)."""
    from pipeline.config import utc_now
    from pipeline.segment_runs import evaluate
    from pipeline.warehouse.db import connect

    loaded = _load(file)
    with connect(command_url()) as conn:
        who = evaluate(conn, tenant_id, loaded, utc_now())
    for name, ids in who.items():
        shown = ", ".join(sorted(ids)[:sample])
        click.echo(f"{name}: {len(ids):,} profiles" + (f" (e.g. {shown})" if shown else ""))


@segments.command("refresh")
@tenant_option
def refresh_command(tenant_id: str) -> None:
    """Recompute membership now (what the hourly job does after resolving profiles)."""
    from pipeline.config import utc_now
    from pipeline.segment_runs import refresh_segments

    counts = refresh_segments(command_url(migrate=True), tenant_id, utc_now())
    if not counts:
        click.echo("no enabled segments (adsignal segments import FILE)")
    for name, c in counts.items():
        click.echo(f"{name}: {c['members']:,} profiles ({c['entered']:+,} entered, {c['exited']:,} left)")


@segments.command("show")
@click.argument("name")
@tenant_option
def show_command(name: str, tenant_id: str) -> None:
    """A segment's definition (YAML) and its member count."""
    import yaml

    from pipeline.warehouse.db import connect
    from pipeline.warehouse.segments_store import list_segments

    with connect(command_url()) as conn:
        found = [s for s in list_segments(conn, tenant_id) if s.name == name]
    if not found:
        raise click.ClickException(f"no segment {name!r} for tenant {tenant_id}")
    click.echo(yaml.safe_dump(found[0].definition, sort_keys=False, allow_unicode=True).rstrip())
    click.echo(f"# profiles: {found[0].profile_count if found[0].profile_count is not None else '-'}")
