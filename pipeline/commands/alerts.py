"""`adsignal alerts`: list alerts, acknowledge and resolve them (who and when are recorded)."""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from pipeline.commands._common import command_url
from pipeline.config import DEFAULT_TENANT

STATUS_CHOICES = ("open", "acknowledged", "suppressed", "resolved", "live", "all")
SEVERITY_CHOICES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
SEVERITY_STYLE = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "dim"}
ONE_DAY = timedelta(days=1)


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
    """Alerts in app.alerts: list them, acknowledge and resolve them; backtest the detector.

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

    from pipeline.warehouse.alerts_store import list_alerts
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
    from pipeline.warehouse.alerts_store import (
        AlertNotFoundError,
        AlertTransitionError,
        acknowledge_alert,
        resolve_alert,
    )
    from pipeline.warehouse.db import connect

    change = acknowledge_alert if action == "acknowledge" else resolve_alert
    try:
        # Alert ids are unique across tenants; the database checks the connecting role may act on it.
        with connect(command_url()) as conn:
            done = change(conn, alert_id, by=by, note=note, tenant_id=None)
    except (AlertNotFoundError, AlertTransitionError, PermissionError, ValueError) as error:
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


# --- backtest ------------------------------------------------------------------------------------

BACKTEST_FORMATS = (".json", ".csv")


@alerts.command("backtest")
@click.option(
    "--from",
    "first_day",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First complete day; the morning after it is the first scored.",
)
@click.option(
    "--to",
    "last_day",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last complete day; the morning after it is the last scored.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file of AlertConfig overrides, e.g. 'roas_z: 3.0' (see docs/alerts.md).",
)
@click.option("--platform", "platforms", multiple=True, help="Repeatable: only these platforms (e.g. meta).")
@click.option(
    "--tenant", "tenant_id", default=DEFAULT_TENANT, show_default=True, help="Whose marts to replay."
)
@click.option(
    "--rules", "with_rules", is_flag=True, help="Also evaluate the enabled rules of app.rules each day."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every alert (with its evidence) and the summary to FILE.json, or the alerts to FILE.csv.",
)
@click.option(
    "--limit", type=click.IntRange(min=0), default=100, show_default=True, help="Alerts listed on screen."
)
def backtest_command(
    first_day: datetime,
    last_day: datetime,
    config_file: Path | None,
    platforms: tuple[str, ...],
    tenant_id: str,
    with_rules: bool,
    out: Path | None,
    limit: int,
) -> None:
    """What would have fired each morning from --from to --to, from the marts; writes nothing.

    The detector scores the morning after every day of the range in order, with the alert
    lifecycle (opened, updated, auto-resolved, held), as if it had run each morning. Prints a
    summary per type and severity, then every alert: severity, type, entity, first and last day
    detected, the day it resolved, and the evidence it opened on. Tune thresholds with --config
    and compare.
    """
    from pipeline.analytics.alerting import (
        AlertConfig,
        AlertConfigError,
        history_frame,
        load_alert_config,
        replay_alerts,
        summary_frame,
    )
    from pipeline.config import settings
    from pipeline.warehouse.access_store import reporting_currency_of
    from pipeline.warehouse.db import connect

    first, last = first_day.date(), last_day.date()
    if last < first:
        raise click.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
    if out is not None and out.suffix.lower() not in BACKTEST_FORMATS:
        raise click.BadParameter(f"{out.name}: expected a .json or .csv file", param_hint="--out")
    try:
        config = load_alert_config(config_file) if config_file else AlertConfig()
    except AlertConfigError as error:
        raise click.ClickException(str(error)) from error

    with connect() as conn:
        conn.read_only = True  # a backtest never writes
        inputs, rules = _backtest_inputs(conn, first, last, platforms, with_rules, tenant_id)
        currency = reporting_currency_of(conn, tenant_id, settings().reporting_currency)
    replay = replay_alerts(
        inputs.campaign_daily,
        first,
        last,
        config,
        budgets=inputs.budgets,
        health=inputs.health,
        reported_as_of=inputs.reported_as_of,
    )
    rule_rows = _rule_rows(rules, first, last, currency) if rules is not None else []
    frame = history_frame(replay.history, rule_rows)
    summary = summary_frame(frame)
    _print_backtest(frame, summary, first, last, inputs, config, platforms, limit)
    if out is not None:
        _write_backtest(out, frame, summary, first, last, config, platforms)
        click.echo(f"wrote {len(frame)} alerts to {out}")


def _backtest_inputs(
    conn: Any, first: date, last: date, platforms: tuple[str, ...], with_rules: bool, tenant_id: str
) -> tuple[Any, Any]:
    from pipeline.warehouse.alert_history_store import replay_inputs
    from pipeline.warehouse.rules_store import MartsMissingError, evaluation_inputs, list_rules

    try:
        inputs = replay_inputs(conn, first + ONE_DAY, last + ONE_DAY, platforms, tenant_id=tenant_id)
        if not with_rules:
            return inputs, None
        stored = list_rules(conn, tenant_id=tenant_id, enabled_only=True)
        rules = [(s.rule_id, s.rule()) for s in stored]
        lookback = max((rule.lookback_days for _, rule in rules), default=1)
        frame, campaigns, health = evaluation_inputs(
            conn, first - timedelta(days=lookback - 1), last, tenant_id=tenant_id
        )
    except MartsMissingError as error:
        raise click.ClickException(str(error)) from error
    if platforms:
        frame, campaigns, health = (f[f["platform"].isin(platforms)] for f in (frame, campaigns, health))
    return inputs, (rules, frame, campaigns, health)


def _rule_rows(rules: Any, first: date, last: date, reporting_currency: str) -> list[dict[str, Any]]:
    from pipeline.analytics.alerting import replay_rules

    stored, frame, campaigns, health = rules
    return replay_rules(
        stored,
        frame,
        first,
        last,
        campaigns=campaigns,
        health=health,
        reporting_currency=reporting_currency,
    )


def _evidence_text(row: dict[str, Any]) -> str:
    """The figures an alert opened on, in one line."""
    evidence = row["evidence"] or {}
    if row["source"] == "rule":
        return str(row["title"]).split(": ", 1)[-1]
    if "affected_days" in evidence:
        issues = ", ".join(sorted({i.get("check", "") for i in evidence.get("issues", []) if i.get("check")}))
        return f"{evidence.get('status')} on {', '.join(evidence['affected_days'])}" + (
            f" ({issues})" if issues else ""
        )
    metric, value, baseline, threshold = row["metric"], row["value"], row["baseline"], row["threshold"]
    if value is None:
        return ""
    text = f"{metric} {_number(metric, value)}"
    if baseline is not None:
        text += f" vs {_number(metric, baseline)} expected"
    if threshold is not None:
        text += f" (alert at {_number(metric, threshold)})"
    window = f"{row['window_start']}..{row['window_end']}"
    return f"{text}, {window}" + (f"; held: {row['held_reason']}" if row["held_reason"] else "")


def _missing(value: Any) -> bool:
    """A cell pandas left empty (None, NaN, NaT)."""
    import pandas as pd

    return not isinstance(value, dict | list | str) and bool(pd.isna(value))


def _number(metric: str, value: float) -> str:
    if metric in ("ctr", "spend_to_budget"):
        return f"{value:.1%}"
    return f"{value:,.1f}" if metric == "conversions" else f"{value:,.2f}"


def _print_backtest(
    frame: Any,
    summary: Any,
    first: date,
    last: date,
    inputs: Any,
    config: Any,
    platforms: tuple[str, ...],
    limit: int,
) -> None:
    from rich.console import Console
    from rich.table import Table

    from pipeline.analytics.alerting.replay import config_overrides

    console = Console(width=max(Console().width, 200))  # one line per alert where the terminal allows
    mornings = (last - first).days + 1
    scope = f" ({', '.join(platforms)})" if platforms else ""
    overrides = config_overrides(config)
    console.print(
        f"Backtest of {mornings} mornings, {first + ONE_DAY} to {last + ONE_DAY} (data through {first} to"
        f" {last}){scope}, {len(inputs.campaign_daily):,} campaign-days read; nothing was written."
        + (f" Overrides: {', '.join(f'{k}={v}' for k, v in overrides.items())}." if overrides else "")
    )
    if frame.empty:
        console.print("Nothing would have fired.")
        return
    table = Table(title="Would have fired, per type and severity")
    for column in summary.columns:
        table.add_column(
            column.replace("_", " "), justify="left" if column in ("alert_type", "severity") else "right"
        )
    for row in summary.to_dict("records"):
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)

    rows = frame.sort_values(["first_day", "alert_type", "platform", "entity_id"], kind="stable")
    detail = Table(title=f"Alerts ({min(limit, len(rows))} of {len(rows)}, by first day)")
    for column in ("severity", "type", "entity", "first day", "last day", "resolved", "days", "status"):
        detail.add_column(column, no_wrap=True, justify="right" if column == "days" else "left")
    detail.add_column("evidence (when it opened)", overflow="fold")
    for record in rows.head(limit).to_dict("records"):
        row = {k: None if _missing(v) else v for k, v in record.items()}
        severity = row["severity"] or ""
        style = SEVERITY_STYLE.get(severity)
        detail.add_row(
            f"[{style}]{severity}[/]" if style else severity,
            row["alert_type"],
            _entity(row),
            str(row["first_day"]),
            str(row["last_day"]),
            "" if row["resolved_day"] is None else str(row["resolved_day"]),
            str(row["days_detected"]),
            row["status"],
            _evidence_text(row),
        )
    console.print(detail)


def _write_backtest(
    out: Path,
    frame: Any,
    summary: Any,
    first: date,
    last: date,
    config: Any,
    platforms: tuple[str, ...],
) -> None:
    import json

    from pipeline.analytics.alerting.replay import config_overrides
    from pipeline.jsonable import jsonable

    records = jsonable(frame.to_dict("records"))
    if out.suffix.lower() == ".json":
        document = {
            "from": first,
            "to": last,
            "mornings": [first + ONE_DAY, last + ONE_DAY],
            "platforms": list(platforms),
            "config_overrides": config_overrides(config),
            "summary": summary.to_dict("records"),
            "alerts": records,
        }
        out.write_text(json.dumps(jsonable(document), indent=2) + "\n", encoding="utf-8")
        return
    import csv

    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(frame.columns))
        writer.writeheader()
        for record in records:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in record.items()}
            )
