"""`adsignal rules`: import, list, show, enable / disable and run user rules."""

from __future__ import annotations

import uuid
from pathlib import Path

import click
from rich.table import Table

from pipeline.commands._common import command_url, make_actor_option, wide_console
from pipeline.config import DEFAULT_TENANT


def _load(path: Path) -> list:
    from pipeline.analytics.rules import RuleFileError, load_rules_file

    try:
        return load_rules_file(path)
    except RuleFileError as exc:
        click.echo(f"{path}: refused, nothing changed ({len(exc.errors)} problem(s)):", err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        raise SystemExit(1) from exc


actor_option = make_actor_option("Who did it (recorded as resolved_by on the alerts a disabled rule leaves).")


@click.group("rules")
def rules() -> None:
    """User rules: conditions over windowed campaign metrics, actions on every match (see docs/rules.md)."""


@rules.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_command(file: Path) -> None:
    """Check a rules file without storing anything (exit code 1 and every problem if invalid)."""
    loaded = _load(file)
    click.echo(f"{file}: {len(loaded)} valid rule(s): {', '.join(r.name for r in loaded)}")


@rules.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Delete the rules that are not in FILE (their history too).")
@actor_option
def import_command(file: Path, replace: bool, actor: str) -> None:
    """Create or update (by name) the rules of a YAML file; an invalid file changes nothing."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.rules_store import import_rules

    loaded = _load(file)
    with connect(command_url(migrate=True)) as conn:
        summary = import_rules(
            conn, loaded, tenant_id=DEFAULT_TENANT, source=str(file), replace=replace, actor=actor
        )
    for label, names in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("removed", summary.removed),
    ):
        if names:
            click.echo(f"{label:>9} {len(names)}: {', '.join(names)}")


@rules.command("list")
def list_command() -> None:
    """Rules with their state, executions and last result."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.rules_store import list_rules

    with connect(command_url()) as conn:
        stored = list_rules(conn, tenant_id=DEFAULT_TENANT)
    if not stored:
        click.echo("No rules. Import some: adsignal rules import pipeline/examples/rules.yml")
        return
    table = Table(title="Rules (app.rules)", title_justify="left")
    for column in ("rule", "enabled", "level", "actions", "runs", "last run", "as of", "matched", "result"):
        table.add_column(column)
    for rule in stored:
        result = rule.last_result or {}
        actions = ", ".join(a["type"] for a in rule.definition.get("actions", []))
        table.add_row(
            rule.name,
            "yes" if rule.enabled else "no",
            rule.definition.get("level", "campaign"),
            actions,
            str(rule.execution_count),
            f"{rule.last_run_at:%Y-%m-%d %H:%M}" if rule.last_run_at else "-",
            result.get("as_of") or "-",
            str(result.get("matched", "-")),
            result.get("status", "-") + (f": {result['error']}" if result.get("error") else ""),
        )
    wide_console().print(table)


@rules.command("show")
@click.argument("name")
@click.option("--runs", type=int, default=5, show_default=True, help="How many recent evaluations to show.")
def show_command(name: str, runs: int) -> None:
    """A rule's definition (as YAML) and its recent evaluations with their matches."""
    import yaml

    from pipeline.warehouse.db import connect
    from pipeline.warehouse.rules_store import get_rule, recent_rule_runs

    with connect(command_url()) as conn:
        stored = get_rule(conn, name, tenant_id=DEFAULT_TENANT)
        if stored is None:
            _unknown(conn, name)
        assert stored is not None
        recent = recent_rule_runs(conn, stored.rule_id, runs)
    definition = {"enabled": stored.enabled, **stored.definition}
    click.echo(yaml.safe_dump(definition, sort_keys=False, allow_unicode=True).rstrip())
    click.echo(f"# executions: {stored.execution_count}, source: {stored.source or '-'}")
    for as_of, evaluated_at, status, evaluated, matched, matches, actions, error in recent:
        click.echo(
            f"\n{evaluated_at:%Y-%m-%d %H:%M} as of {as_of}: {status}, {matched} of {evaluated} matched"
            + (f" ({error})" if error else "")
        )
        for match in matches:
            met = ", ".join(
                f"{k}={v:g}" if v is not None else f"{k}=undefined" for k, v in match["values"].items()
            )
            entity = match.get("campaign_name") or match.get("campaign_id") or match["account_id"]
            click.echo(f"  {match['platform']} {entity}: {met}")
        for action in actions:
            text = action.get("detail") or action.get("message") or ""
            click.echo(f"    {action['type']} {action['status']}: {text}")


def _unknown(conn: object, name: str) -> None:
    from pipeline.warehouse.rules_store import list_rules

    known = [r.name for r in list_rules(conn, tenant_id=DEFAULT_TENANT)]  # type: ignore[arg-type]
    click.echo(f"no rule named {name!r} (rules: {', '.join(known) or 'none'})", err=True)
    raise SystemExit(1)


def _set_enabled(name: str, enabled: bool, actor: str) -> None:
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.rules_store import set_enabled

    with connect(command_url()) as conn:
        if not set_enabled(conn, name, enabled, tenant_id=DEFAULT_TENANT, actor=actor):
            _unknown(conn, name)
    click.echo(f"rule {name!r} {'enabled' if enabled else 'disabled'}")


@rules.command("enable")
@click.argument("name")
@actor_option
def enable_command(name: str, actor: str) -> None:
    """Evaluate the rule again from the next run."""
    _set_enabled(name, True, actor)


@rules.command("disable")
@click.argument("name")
@actor_option
def disable_command(name: str, actor: str) -> None:
    """Stop evaluating the rule; its live alerts are resolved and its state labels removed."""
    _set_enabled(name, False, actor)


@rules.command("run")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The last day of every window (default: the last complete day).",
)
def run_command(as_of) -> None:
    """Evaluate the enabled rules now, against the marts as they are (the daily run does this too).

    Notifications are queued in app.rule_runs; only a pipeline run's digest delivers them.
    """
    from datetime import UTC, datetime

    from pipeline.config import last_complete_day, settings
    from pipeline.rule_runs import evaluate_rules
    from pipeline.warehouse.access_store import reporting_currency_of
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.rules_store import MartsMissingError

    day = as_of.date() if as_of else last_complete_day(datetime.now(UTC))
    run_id = f"cli-{uuid.uuid4()}"
    with connect(command_url(migrate=True)) as conn:
        try:
            summary = evaluate_rules(
                conn,
                day,
                tenant_id=DEFAULT_TENANT,
                run_id=run_id,
                reporting_currency=reporting_currency_of(conn, DEFAULT_TENANT, settings().reporting_currency),
            )
        except MartsMissingError as exc:
            click.echo(str(exc), err=True)
            raise SystemExit(1) from exc
    click.echo(
        f"as of {day}: {summary.rules_evaluated} rule(s) evaluated, {summary.matches} match(es) (run {run_id})"
    )
    for name, count in sorted(summary.matches_by_rule.items()):
        click.echo(f"  {name}: {count}")
    for key, count in sorted(summary.action_statuses.items()):
        click.echo(f"  {key}: {count}")
    if summary.rules_failed:
        click.echo(f"failed: {', '.join(summary.rules_failed)} (adsignal rules list shows why)", err=True)
        raise SystemExit(1)
