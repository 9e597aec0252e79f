"""`adsignal events import` and `adsignal collect`: first-party events (Segment spec) into the warehouse."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from pipeline.commands._common import command_url, make_actor_option, wide_console
from pipeline.config import DEFAULT_TENANT

actor_option = make_actor_option("Who did it (recorded in the audit log).")


@click.group("events")
def events() -> None:
    """First-party events in the Segment spec (track, identify, page, screen, group, alias)."""


@events.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--tenant", "tenant_id", default=DEFAULT_TENANT, show_default=True, help="Whose events these are."
)
def events_import(files: tuple[Path, ...], tenant_id: str) -> None:
    """Import JSON Lines files (gzip or plain): bad lines quarantined, repeated messageIds skipped."""
    from pipeline.event_imports import import_events_file

    url = command_url(migrate=True)
    for path in files:
        report = import_events_file(url, path, tenant_id=tenant_id)
        click.echo(report.summary())


@click.group("collect", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.pass_context
def collect(ctx: click.Context, host: str, port: int) -> None:
    """Serve the Segment-compatible tracking API (POST /v1/batch, /v1/track, ...) into raw.cdp_events."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from pipeline.collector import create_app

    click.echo(f"collecting on http://{host}:{port}/v1/batch (write keys: adsignal collect keys add)")
    # access_log off: request lines carry nothing secret, but quiet is the better default for a firehose.
    uvicorn.run(create_app(command_url(migrate=True)), host=host, port=port, access_log=False)


@collect.group("keys")
def keys() -> None:
    """Write keys: one tenant each, stored hashed, shown once."""


@keys.command("add")
@click.option("--tenant", "tenant_id", default=DEFAULT_TENANT, show_default=True)
@click.option("--name", default="default", show_default=True, help="What the key is for (a site, an app).")
@actor_option
def keys_add(tenant_id: str, name: str, actor: str) -> None:
    """Make a write key (printed once; only its hash is stored)."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.events_store import create_write_key

    with connect(command_url(migrate=True)) as conn:
        key_id, key = create_write_key(conn, tenant_id, name, actor=actor)
    click.echo(f"write key {key_id} for tenant {tenant_id} (shown once): {key}")


@keys.command("list")
@click.option("--tenant", "tenant_id", default=None, help="Only this tenant's keys.")
def keys_list(tenant_id: str | None) -> None:
    """Keys with their tenant and state (never the key itself)."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.events_store import list_write_keys

    with connect(command_url()) as conn:
        rows = list_write_keys(conn, tenant_id)
    table = Table(title="Collector write keys (app.collect_keys)", title_justify="left")
    for column in ("id", "tenant", "name", "key", "created", "revoked"):
        table.add_column(column)
    for k in rows:
        revoked = f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-"
        table.add_row(
            str(k.key_id), k.tenant_id, k.name, k.key_hint, f"{k.created_at:%Y-%m-%d %H:%M}", revoked
        )
    wide_console().print(table)


@keys.command("revoke")
@click.argument("key_id", type=int)
@actor_option
def keys_revoke(key_id: int, actor: str) -> None:
    """Revoke a key (the collector refuses it within 30 seconds)."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.events_store import revoke_write_key

    with connect(command_url()) as conn:
        if not revoke_write_key(conn, key_id, actor=actor):
            raise click.ClickException(f"no live write key {key_id}")
    click.echo(f"write key {key_id} revoked")


@click.group("profiles")
def profiles() -> None:
    """Identity-resolved profiles built from the events."""


@profiles.command("resolve")
@click.option("--tenant", "tenant_id", default=None, help="One tenant (default: every tenant with events).")
def profiles_resolve(tenant_id: str | None) -> None:
    """Resolve the events loaded since the last run (what the hourly cdp_profiles job does)."""
    from pipeline.profiles import resolve_all_tenants, resolve_profiles

    url = command_url(migrate=True)
    summaries = [resolve_profiles(url, tenant_id)] if tenant_id else resolve_all_tenants(url)
    for s in summaries:
        click.echo(
            f"{s.tenant_id}: {s.events:,} events read, {s.new_profiles:,} new profiles, {s.merges:,} merges,"
            f" {s.conflicts:,} conflicts; now {s.totals['profiles']:,} profiles over {s.totals['identifiers']:,}"
            " identifiers"
        )


@profiles.command("forget")
@click.argument("who")
@click.option("--tenant", "tenant_id", default=DEFAULT_TENANT, show_default=True, help="Whose profiles.")
@actor_option
def profiles_forget(who: str, tenant_id: str, actor: str) -> None:
    """Erase a person: WHO is an email, a phone (+...), a profile id, a user id or an anonymous id.

    Their events (quarantined ones too), identifiers, profiles and segment memberships are deleted in
    one transaction; the audit log keeps the profile id and the counts, never WHO. Segments drop them
    now, so audiences built from segments drop them at their next sync. Their events arriving later
    make a new profile: stop sending them at the source.
    """
    from pipeline.profiles import UnknownPerson, forget_person

    try:
        forgotten = forget_person(command_url(migrate=True), tenant_id, who, actor=actor)
    except UnknownPerson as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{n:,} {what.replace('_', ' ')}" for what, n in forgotten.counts.items())
    click.echo(f"{tenant_id}: profile {forgotten.canonical_id} forgotten ({counts})")
