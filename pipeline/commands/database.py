"""`adsignal db`: the warehouse's URL, migrations, backup and restore."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.config import settings


@click.group("db")
def db() -> None:
    """The PostgreSQL warehouse (DATABASE_URL, or the embedded server under .data/pg)."""


@db.command("url")
def db_url() -> None:
    """Print the warehouse URL (for psql or any SQL client)."""
    from pipeline.warehouse.db import database_url

    click.echo(database_url())


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (it keeps running after every command; the next one starts it)."""
    from pipeline.warehouse.db import stop_embedded

    if settings().database_url:
        raise click.ClickException("DATABASE_URL is set: that server is not adsignal's to stop")
    pg_dir = settings().embedded_pg_dir
    if stop_embedded(pg_dir):
        click.echo(f"stopped the embedded PostgreSQL ({pg_dir})")
    else:
        click.echo(f"the embedded PostgreSQL ({pg_dir}) is not running")


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations (raw bookkeeping and app.* tables)."""
    from pipeline.warehouse import migrate

    migrate.upgrade()
    click.echo(f"database at revision {migrate.current_revision()}")


@db.command("backup")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Dump file (default: <data dir>/backups/<database>-<UTC time>.dump).")  # fmt: skip
def db_backup(out: Path | None) -> None:
    """Dump the warehouse (pg_dump, custom format): raw, marts, app and the migrations' state."""
    from pipeline.commands._common import command_url
    from pipeline.config import utc_now
    from pipeline.warehouse.backup import BackupError, backup
    from pipeline.warehouse.db import libpq_params

    url = command_url()
    target = out or (
        settings().data_dir / "backups" / f"{libpq_params(url).get('dbname')}-{utc_now():%Y%m%dT%H%M%SZ}.dump"
    )
    try:
        written = backup(url, target)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written: {written} ({written.stat().st_size:,} bytes)")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--database", "database", help="Create this database on the warehouse's server and restore there."
)
def db_restore(file: Path, database: str | None) -> None:
    """Restore a backup into an empty database (DATABASE_URL, or a new one named by --database)."""
    from pipeline.commands._common import command_url
    from pipeline.warehouse.backup import BackupError, restore
    from pipeline.warehouse.db import ensure_database, with_database

    url = command_url()
    if database:
        url = ensure_database(with_database(url, "postgres"), database)
    try:
        restore(url, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {file} into {database or 'the warehouse'}")


@db.command("retention")
@click.option("--dry-run", is_flag=True, help="Count what would be dropped; drop nothing.")
def db_retention(dry_run: bool) -> None:
    """Drop rows past the retention policy (what the daily `retention` job does)."""
    from rich.table import Table

    from pipeline.commands._common import command_url, wide_console
    from pipeline.config import utc_now
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.retention_store import apply_retention

    with connect(command_url()) as conn:
        results = apply_retention(conn, utc_now().date(), dry_run=dry_run)
    table = Table(
        title="Retention" + (" (dry run: nothing dropped)" if dry_run else ""), title_justify="left"
    )
    for column in ("relation", "older than", "would drop" if dry_run else "dropped", "whole months"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.relation, r.cutoff.isoformat(), r.skipped or f"{r.rows:,}", str(r.partitions_dropped or "")
        )
    wide_console().print(table)
