"""`adsignal actions`: review, approve, reject and execute queued platform changes.

Approving never writes to a platform by itself: ``execute`` does (dry run unless ``--apply`` or
``ADSIGNAL_ACTIONS_APPLY=1``), or ``approve --execute`` in one step.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click
from rich.table import Table

from pipeline.commands._common import command_url, make_actor_option, wide_console

STATUSES = ("proposed", "blocked", "approved", "rejected", "executing", "executed", "failed", "superseded")


def _sandbox_url() -> str | None:
    return os.environ.get("ADSIGNAL_SANDBOX_URL") or None


def _change(action: dict[str, Any]) -> str:
    params = action["params"] or {}
    if "new_daily_budget" in params:
        text = f"budget -> {params['new_daily_budget']:g}"
        requested = params.get("requested_daily_budget")
        if requested is not None and requested != params["new_daily_budget"]:
            text += f" (asked {requested:g})"
        return text
    return {"PAUSE": "pause", "RESUME": "resume"}.get(action["action_type"], "-")


def _blocked_reasons(action: dict[str, Any]) -> str:
    return "; ".join(
        f"{check['name']}: {check['detail']}"
        for check in action["guardrails"] or []
        if check["outcome"] == "blocked"
    )


actor_option = make_actor_option("Who decides (recorded in the audit log).")


@click.group("actions")
def actions() -> None:
    """The action queue: changes proposed by rules, recommendations and allocations, approved by people."""


@actions.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only actions in this status.")
@click.option("--limit", type=int, default=50, show_default=True)
def list_command(status: str | None, limit: int) -> None:
    """Queued actions, newest first, with the change and why (or why blocked)."""
    from pipeline.warehouse.actions_store import list_actions
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        rows = list_actions(conn, status=status, limit=limit)
    if not rows:
        click.echo("no actions" + (f" with status {status}" if status else ""))
        return
    table = Table(title="app.actions_queue", title_justify="left")
    for column in ("id", "status", "action", "source", "platform", "campaign", "change", "why"):
        table.add_column(column, no_wrap=column not in ("why", "campaign"))
    for row in rows:
        why = row["reason"] if row["status"] != "blocked" else f"BLOCKED {_blocked_reasons(row)}"
        if row["status"] == "failed" and row["last_error"]:
            why = f"FAILED {row['last_error']}"
        table.add_row(
            str(row["action_id"]),
            row["status"],
            row["action_type"],
            row["source_ref"] or row["source"],
            row["platform"],
            row["campaign_name"] or row["campaign_id"],
            _change(row),
            why,
        )
    wide_console().print(table)


@actions.command("show")
@click.argument("action_id", type=int)
def show_command(action_id: int) -> None:
    """One action: what, why, guardrail outcomes, execution attempts and audit trail."""
    from pipeline.warehouse.actions_store import action_log, get_action
    from pipeline.warehouse.audit import audit_trail
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        action = get_action(conn, action_id)
        if action is None:
            raise click.ClickException(f"action {action_id} does not exist")
        attempts = action_log(conn, action_id)
        trail = audit_trail(conn, "action", action_id)
    console = wide_console()
    console.print(
        f"[bold]action {action_id}[/bold]  {action['action_type']} {action['platform']} campaign "
        f"{action['campaign_name'] or ''} ({action['campaign_id']}, account {action['account_id']})\n"
        f"status {action['status']}  change {_change(action)}  source {action['source_ref'] or action['source']}"
        f"  attempts {action['attempts']}\n"
        f"why: {action['reason']}"
    )
    if action["last_error"]:
        console.print(f"last error: {action['last_error']}")
    if action["decided_by"]:
        console.print(
            f"decided by {action['decided_by']} at {action['decided_at']:%Y-%m-%d %H:%M} UTC"
            + (f": {action['decision_note']}" if action["decision_note"] else "")
        )
    if action["previous_state"] or action["new_state"]:
        console.print(f"previous state {json.dumps(action['previous_state'])}")
        console.print(f"new state      {json.dumps(action['new_state'])}")
    checks = Table(title="guardrails", title_justify="left")
    for column in ("check", "stage", "outcome", "detail"):
        checks.add_column(column, no_wrap=column != "detail")
    for check in action["guardrails"] or []:
        checks.add_row(check["name"], check.get("stage", ""), check["outcome"], check["detail"])
    console.print(checks)
    if attempts:
        log = Table(title="app.ai_actions_log", title_justify="left")
        for column in ("log", "at", "dry run", "status", "previous", "new", "error"):
            log.add_column(column, no_wrap=column in ("log", "at", "dry run", "status"))
        for row in attempts:
            log.add_row(
                str(row["log_id"]),
                f"{row['executed_at']:%Y-%m-%d %H:%M:%S}",
                "yes" if row["dry_run"] else "no",
                row["status"],
                json.dumps(row["previous_state"]),
                json.dumps(row["new_state"]),
                row["error"] or "",
            )
        console.print(log)
    audit = Table(title="app.audit_logs", title_justify="left")
    for column in ("at", "actor", "event"):
        audit.add_column(column)
    for row in trail:
        audit.add_row(f"{row['created_at']:%Y-%m-%d %H:%M:%S}", row["actor"], row["event"])
    console.print(audit)


def _decide(action_id: int, decision: str, actor: str, note: str | None) -> None:
    from pipeline.warehouse.actions_store import ActionStateError, decide
    from pipeline.warehouse.db import connect

    with connect(command_url()) as conn:
        try:
            action = decide(conn, action_id, decision, actor=actor, note=note)
        except (ActionStateError, PermissionError) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"action {action_id} {action['status']} by {action['decided_by']}: {action['action_type']} {_change(action)}"
    )


def _execute(action_id: int, apply: bool, actor: str) -> None:
    from pipeline.execution import execute_action
    from pipeline.warehouse.actions_store import ActionStateError

    try:
        result = execute_action(
            command_url(), action_id, apply=apply, actor=actor, sandbox_url=_sandbox_url()
        )
    except ActionStateError as exc:
        raise click.ClickException(str(exc)) from None
    previous = json.dumps(result.previous_state)
    new = json.dumps(result.new_state)
    if result.outcome == "dry_run":
        click.echo(f"DRY RUN action {action_id}: nothing written (add --apply to write)")
        click.echo(f"  current   {previous}\n  would set {new}\n  call      {json.dumps(result.request)}")
    elif result.outcome in ("executed", "already_applied"):
        note = " (an earlier attempt had already applied it)" if result.outcome == "already_applied" else ""
        click.echo(f"EXECUTED action {action_id}{note}\n  previous {previous}\n  new      {new}")
    else:
        raise click.ClickException(f"action {action_id} {result.outcome}: {result.error}")


@actions.command("approve")
@click.argument("action_id", type=int)
@actor_option
@click.option("--note", default=None, help="Why (recorded with the decision).")
@click.option("--execute", "execute_now", is_flag=True, help="Execute right after approving.")
@click.option("--apply", is_flag=True, help="With --execute: write to the platform (default: dry run).")
def approve_command(action_id: int, actor: str, note: str | None, execute_now: bool, apply: bool) -> None:
    """Approve a proposed action (a blocked one cannot be approved). Nothing is written until executed."""
    from pipeline.execution import apply_from_env

    _decide(action_id, "approve", actor, note)
    if execute_now:
        _execute(action_id, apply or apply_from_env(), actor)


@actions.command("reject")
@click.argument("action_id", type=int)
@actor_option
@click.option("--note", default=None, help="Why (recorded with the decision).")
def reject_command(action_id: int, actor: str, note: str | None) -> None:
    """Reject an action (proposed, blocked, approved or failed)."""
    _decide(action_id, "reject", actor, note)


@actions.command("execute")
@click.argument("action_id", type=int)
@click.option(
    "--apply",
    is_flag=True,
    help="Write to the platform. Default: dry run (log the previous state and what would be set), unless "
    "ADSIGNAL_ACTIONS_APPLY=1.",
)
@actor_option
def execute_command(action_id: int, apply: bool, actor: str) -> None:
    """Execute an approved action (or retry a failed one); dry run unless --apply."""
    from pipeline.execution import apply_from_env

    _execute(action_id, apply or apply_from_env(), actor)
