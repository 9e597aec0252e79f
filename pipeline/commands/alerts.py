"""`adsignal alerts`: list alerts, acknowledge and resolve them (who and when are recorded)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

import click

from pipeline.config import DEFAULT_TENANT

STATUS_CHOICES = ("open", "acknowledged", "suppressed", "resolved", "live", "all")
SEVERITY_CHOICES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
SEVERITY_STYLE = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "dim"}


def _statuses(chosen: tuple[str, ...]) -> tuple[str, ...]:
    """``live`` (the default) is open + acknowledged; ``all`` every status."""
    out: list[str] = []
    for status in chosen or ("live",):
        if status == "all":
            return ("open", "acknowledged", "suppressed", "resolved")
        out += ["open", "acknowledged"] if status == "live" else [status]
    return tuple(dict.fromkeys(out))


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def _entity(row: dict[str, Any]) -> str:
    name = row["entity_name"] or row["entity_id"]
    label = f"{row['platform']} {row['entity_level']} {name}"
    return label if name == row["entity_id"] else f"{label} ({row['entity_id']})"


@click.group("alerts")
def alerts() -> None:
    """Alerts in app.alerts: list them, acknowledge and resolve them.

    One live alert per entity and type: the detectors update it while the problem lasts and
    resolve it (resolved_by adsignal:auto) once the metric recovers on healthy data.
    """


@alerts.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUS_CHOICES, case_sensitive=False),
    help="Repeatable. live (default) = open + acknowledged; suppressed = held back; all.",
)
@click.option(
    "--severity",
    "severities",
    multiple=True,
    type=click.Choice(SEVERITY_CHOICES, case_sensitive=False),
    help="Repeatable: only these severities.",
)
@click.option("--platform", "platforms", multiple=True, help="Repeatable: only these platforms (e.g. meta).")
@click.option(
    "--type", "alert_types", multiple=True, help="Repeatable: only these alert types (e.g. ROAS_DROP)."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many rows."
)
def list_command(
    statuses: tuple[str, ...],
    severities: tuple[str, ...],
    platforms: tuple[str, ...],
    alert_types: tuple[str, ...],
    limit: int,
) -> None:
    """List alerts, most severe and most recent first."""
    from rich.console import Console
    from rich.table import Table

    from pipeline.warehouse.app_store import list_alerts
    from pipeline.warehouse.db import connect

    chosen = _statuses(tuple(s.lower() for s in statuses))
    with connect() as conn:
        rows = list_alerts(
            conn,
            tenant_id=DEFAULT_TENANT,
            statuses=chosen,
            severities=[s.upper() for s in severities],
            platforms=platforms,
            alert_types=alert_types,
            limit=limit,
        )
    console = Console(width=max(Console().width, 160))
    if not rows:
        console.print(f"No alerts with status {', '.join(chosen)} match.")
        return
    table = Table(title=f"Alerts ({', '.join(chosen)}): {len(rows)}")
    for column in ("id", "severity", "type", "entity", "title", "status", "first detected", "last detected"):
        table.add_column(column, overflow="fold", justify="right" if column == "id" else "left")
    table.add_column("count", justify="right")
    for row in rows:
        status = row["status"]
        if status == "acknowledged" and row["acknowledged_by"]:
            status = f"acknowledged by {row['acknowledged_by']}"
        elif status == "resolved" and row["resolved_by"]:
            status = f"resolved by {row['resolved_by']}"
        table.add_row(
            str(row["alert_id"]),
            f"[{SEVERITY_STYLE[row['severity']]}]{row['severity']}[/]",
            row["alert_type"],
            _entity(row),
            row["title"],
            status,
            _when(row["first_detected_at"]),
            _when(row["last_detected_at"]),
            str(row["detection_count"]),
        )
    console.print(table)


def _change(action: str, alert_id: int, by: str, note: str | None) -> None:
    from pipeline.warehouse.app_store import (
        AlertNotFoundError,
        AlertTransitionError,
        acknowledge_alert,
        resolve_alert,
    )
    from pipeline.warehouse.db import connect

    change = acknowledge_alert if action == "acknowledge" else resolve_alert
    try:
        with connect() as conn:
            done = change(conn, alert_id, by=by, note=note, tenant_id=DEFAULT_TENANT)
    except (AlertNotFoundError, AlertTransitionError, ValueError) as error:
        raise click.ClickException(str(error).strip("'\"")) from error
    click.echo(
        f"alert {done['alert_id']} {done['status']} by {done['by']} at {_when(done['at'])} UTC: {done['title']}"
    )


@alerts.command("ack")
@click.argument("alert_id", type=int)
@click.option("--by", default=getpass.getuser, show_default="your OS user", help="Who acknowledges.")
@click.option("--note", help="Why, or what is being done about it.")
def ack_command(alert_id: int, by: str, note: str | None) -> None:
    """Acknowledge a live alert: someone is on it (it stays live until resolved)."""
    _change("acknowledge", alert_id, by, note)


@alerts.command("resolve")
@click.argument("alert_id", type=int)
@click.option("--by", default=getpass.getuser, show_default="your OS user", help="Who resolves.")
@click.option("--note", help="What was done, or why it is not a problem.")
def resolve_command(alert_id: int, by: str, note: str | None) -> None:
    """Resolve an alert by hand. If the detector still sees the problem, its next run opens a new one."""
    _change("resolve", alert_id, by, note)
