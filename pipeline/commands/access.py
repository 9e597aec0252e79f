"""`adsignal tenants` and `adsignal users`: tenants, and people as PostgreSQL login roles.

PostgreSQL is the boundary (Dagster OSS has no login and analysts query the warehouse directly): a
user is a login role in one capability role and one tenant role; row-level security and the deciding
functions (migration 0016) enforce the rest, whichever client connects.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

import click
from rich.table import Table

from pipeline.commands._common import command_url, make_actor_option, wide_console
from pipeline.warehouse.access_store import CAPABILITIES, AccessError

if TYPE_CHECKING:
    from pipeline.notifications import Channel

P = ParamSpec("P")
R = TypeVar("R")

actor_option = make_actor_option("Who did it (recorded in the audit log).")


def _fail_on_access_error(command: Callable[P, R]) -> Callable[P, R]:
    """An ``AccessError`` becomes one line on stderr and exit code 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AccessError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group("tenants")
def tenants() -> None:
    """Tenants: whose data each row is (connections, imports and people belong to one)."""


@tenants.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@click.option("--currency", "reporting_currency", help="Reporting currency (ISO 4217), e.g. EUR.")
@click.option("--settings", "settings_json", help="Settings as a JSON object.")
@actor_option
@_fail_on_access_error
def tenants_add(
    slug: str, name: str, reporting_currency: str | None, settings_json: str | None, actor: str
) -> None:
    """Add a tenant (and its PostgreSQL group role)."""
    from pipeline.warehouse.access_store import add_tenant
    from pipeline.warehouse.db import connect

    try:
        settings = json.loads(settings_json) if settings_json else {}
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--settings") from None
    if not isinstance(settings, dict):
        raise click.BadParameter(
            'a JSON object, e.g. \'{"timezone": "Europe/Paris"}\'', param_hint="--settings"
        )
    with connect(command_url(migrate=True)) as conn:
        tenant = add_tenant(
            conn, slug, name, reporting_currency=reporting_currency, settings=settings, actor=actor
        )
    click.echo(f"tenant {tenant.tenant_id} added: {tenant.name}")


@tenants.command("list")
def tenants_list() -> None:
    """Every tenant with its status and reporting currency."""
    from pipeline.warehouse.access_store import list_tenants
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        rows = list_tenants(conn)
    table = Table(title="Tenants (app.tenants)", title_justify="left")
    for column in ("tenant", "name", "status", "currency"):
        table.add_column(column)
    for t in rows:
        table.add_row(t.tenant_id, t.name, t.status, t.reporting_currency or "-")
    wide_console().print(table)


@tenants.command("show")
@click.argument("slug")
@_fail_on_access_error
def tenants_show(slug: str) -> None:
    """One tenant, its settings, its people and its notification channels."""
    from pipeline.notifications.tenant_channels import channel_listing
    from pipeline.warehouse.access_store import get_tenant, list_users
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        tenant = get_tenant(conn, slug)
        if tenant is None:
            raise AccessError(f"no tenant {slug!r}")
        people = [u for u in list_users(conn) if slug in u.tenants]
        channels = channel_listing(conn, slug)
    click.echo(f"{tenant.tenant_id}: {tenant.name} ({tenant.status})")
    click.echo(f"reporting currency: {tenant.reporting_currency or '-'}")
    click.echo(f"settings: {json.dumps(tenant.settings, sort_keys=True)}")
    for user in people:
        click.echo(f"user {user.name}: {user.capability}")
    for channel, target, severity in channels:
        click.echo(f"notifications: {channel} ({target}), from {severity or 'the default severity'}")


@tenants.command("notify")
@click.argument("slug")
@click.option("--channel", type=click.Choice(["slack", "webhook"]), required=True)
@click.option("--signed", is_flag=True, help="Webhook: also ask for the HMAC signing secret.")
@click.option(
    "--min-severity", help="LOW, MEDIUM, HIGH or CRITICAL (else ADSIGNAL_NOTIFY_MIN_SEVERITY, MEDIUM)."
)
@click.option("--remove", is_flag=True, help="Remove the tenant's channel.")
@actor_option
@_fail_on_access_error
def tenants_notify(
    slug: str, channel: str, signed: bool, min_severity: str | None, remove: bool, actor: str
) -> None:
    """Send a tenant's alert digests to its own Slack or webhook channel.

    The URL (and with --signed the secret) is asked without echo, or read line by line from stdin:
    it never sits in shell history. Stored encrypted like connection credentials.
    """
    from pipeline.notifications import NotificationConfigError
    from pipeline.notifications.tenant_channels import remove_channel, set_channel
    from pipeline.warehouse.access_store import get_tenant
    from pipeline.warehouse.db import connect

    with connect(command_url(migrate=True)) as conn:
        if get_tenant(conn, slug) is None:
            raise AccessError(f"no tenant {slug!r}")
        if remove:
            removed = remove_channel(conn, slug, cast("Channel", channel), actor=actor)
            click.echo(f"{slug}: {channel} channel {'removed' if removed else 'was not set'}")
            return
        url = click.prompt(f"{channel} URL for {slug}", hide_input=True)
        secret = click.prompt("signing secret", hide_input=True) if signed else None
        try:
            destination = set_channel(
                conn,
                slug,
                cast("Channel", channel),
                url,
                signing_secret=secret,
                min_severity=min_severity,
                actor=actor,
            )
        except NotificationConfigError as exc:
            raise click.ClickException(str(exc)) from None
    signed_note = ", signed" if destination.signing_secret else ""
    click.echo(f"{slug}: alert digests go to {destination}{signed_note}")


@tenants.command("disable")
@click.argument("slug")
@actor_option
@_fail_on_access_error
def tenants_disable(slug: str, actor: str) -> None:
    """Disable a tenant: its rows stay; its people keep reading until removed."""
    from pipeline.warehouse.access_store import set_tenant_status
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        set_tenant_status(conn, slug, "disabled", actor=actor)
    click.echo(f"tenant {slug} disabled")


@click.group("users")
def users() -> None:
    """People as PostgreSQL login roles: viewer < analyst < manager < admin, per tenant."""


@users.command("add")
@click.argument("name")
@click.option("--tenant", "tenant_id", required=True, help="The tenant whose rows they see.")
@click.option("--role", "capability", type=click.Choice(CAPABILITIES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (else one is generated).")
@actor_option
@_fail_on_access_error
def users_add(name: str, tenant_id: str, capability: str, password_stdin: bool, actor: str) -> None:
    """Create a login role for a person; a generated password is shown once."""
    from pipeline.warehouse.access_store import add_user
    from pipeline.warehouse.db import connect

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        raise click.BadParameter("stdin held no password", param_hint="--password-stdin")
    with connect(command_url(migrate=True)) as conn:
        generated = add_user(
            conn, name, tenant_id=tenant_id, capability=capability, password=password, actor=actor
        )
    click.echo(f"user {name} added: {capability} of tenant {tenant_id}")
    if generated:
        click.echo(f"password (shown once): {generated}")


@users.command("list")
def users_list() -> None:
    """People with their role and tenants."""
    from pipeline.warehouse.access_store import list_users
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        rows = list_users(conn)
    table = Table(title="Users (PostgreSQL login roles)", title_justify="left")
    for column in ("user", "role", "tenants"):
        table.add_column(column)
    for user in rows:
        table.add_row(user.name, user.capability or "-", ", ".join(user.tenants) or "-")
    wide_console().print(table)


@users.command("set-role")
@click.argument("name")
@click.argument("capability", type=click.Choice(CAPABILITIES))
@actor_option
@_fail_on_access_error
def users_set_role(name: str, capability: str, actor: str) -> None:
    """Change what a person may do."""
    from pipeline.warehouse.access_store import set_user_capability
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        set_user_capability(conn, name, capability, actor=actor)
    click.echo(f"user {name} is now {capability}")


@users.command("remove")
@click.argument("name")
@actor_option
@_fail_on_access_error
def users_remove(name: str, actor: str) -> None:
    """Drop a person's login role."""
    from pipeline.warehouse.access_store import remove_user
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        remove_user(conn, name, actor=actor)
    click.echo(f"user {name} removed")
