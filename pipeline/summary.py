"""What a run produced, for people: row counts per table, live alerts, where to look next."""

from __future__ import annotations

import psycopg
from rich.console import Console
from rich.table import Table

from pipeline.warehouse.summary_store import (
    executed_actions,
    held_alert_count,
    latest_allocation,
    live_alerts,
    pending_recommendations,
    quarantine_reasons,
    queued_actions,
    rule_results,
    table_row_counts,
    waiting_action_count,
)


def print_decisions(conn: psycopg.Connection, console: Console) -> None:
    """Rules, the budget allocation, recommendations and the action queue of the last run."""
    rules = rule_results(conn)
    if rules:
        table = Table(title="Rules (app.rules, last evaluation)", title_justify="left")
        for column in ("rule", "matched", "status", "runs"):
            table.add_column(column)
        for name, matched, status, runs in rules:
            table.add_row(name, str(matched), status or "-", str(runs))
        console.print(table)

    allocation = latest_allocation(conn)
    if allocation:
        (
            allocation_id,
            start,
            end,
            total,
            currency,
            objective,
            per_platform,
            expected,
            current,
            proportional,
            unallocated,
            unallocated_reason,
        ) = allocation
        table = Table(
            title=f"Budget allocation #{allocation_id} for {start}..{end}: {total:,.0f} {currency} ({objective})",
            title_justify="left",
        )
        table.add_column("platform")
        table.add_column(f"budget ({currency})", justify="right")
        for platform, amount in sorted(per_platform.items()):
            table.add_row(platform, f"{float(amount):,.0f}")
        console.print(table)

        def fmt(value: float | None) -> str:
            return "-" if value is None else f"{value:,.0f}"

        console.print(
            f"  expected value {fmt(expected)} vs keeping the current split {fmt(current)}"
            f" vs proportional to ROAS {fmt(proportional)}"
            + (f"; {float(unallocated):,.0f} unallocated ({unallocated_reason})" if unallocated else "")
        )

    recommendations = pending_recommendations(conn)
    if recommendations:
        table = Table(title="Pending recommendations (app.ai_recommendations)", title_justify="left")
        for column in ("id", "by", "action", "platform", "what", "confidence"):
            table.add_column(column, no_wrap=column != "what")
        for rec_id, produced_by, action, platform, title, confidence in recommendations:
            table.add_row(str(rec_id), produced_by, action, platform or "-", title, f"{confidence:.2f}")
        console.print(table)

    actions = queued_actions(conn)
    if actions:
        waiting = waiting_action_count(conn)
        more = f", {waiting - len(actions)} more in `adsignal actions list`" if waiting > len(actions) else ""
        table = Table(
            title=f"Action queue (app.actions_queue): nothing runs before approval{more}",
            title_justify="left",
        )
        for column in ("id", "status", "action", "source", "platform", "campaign", "change", "why"):
            table.add_column(
                column, no_wrap=column not in ("why", "campaign"), ratio=2 if column == "why" else None
            )
        for action_id, status, action_type, source, platform, campaign, params, reason in actions:
            # "Budget allocation 1 for <period>: raise ... ; expected ..." → "raise ..." (the source column
            # already says where it came from; `adsignal actions show ID` has the whole reason).
            first_clause = reason.split(";")[0].split(": ", 1)[-1]
            table.add_row(
                str(action_id),
                status,
                action_type,
                source,
                platform,
                campaign,
                describe_change(params),
                first_clause,
            )
        console.print(table)

    executed = executed_actions(conn)
    if executed:
        table = Table(title="Executed actions (app.ai_actions_log)", title_justify="left")
        for column in (
            "action",
            "when",
            "by",
            "platform",
            "campaign",
            "type",
            "mode",
            "result",
            "before → after",
        ):
            table.add_column(column, no_wrap=column not in ("campaign", "before → after"))
        for action_id, at, by, platform, campaign, kind, dry_run, status, before, after in executed:
            table.add_row(
                str(action_id),
                f"{at:%Y-%m-%d %H:%M}",
                by or "-",
                platform,
                campaign,
                kind,
                "dry run" if dry_run else "applied",
                status,
                f"{describe_state(before)} → {describe_state(after)}",
            )
        console.print(table)


def describe_change(params: dict) -> str:
    """An action's parameters in a few words: the daily budget it sets, and what was asked if clamped."""
    budget, asked = params.get("new_daily_budget"), params.get("requested_daily_budget")
    if budget is None:
        return "-"
    return f"budget → {budget:,.2f}" + (f" (asked {asked:,.2f})" if asked not in (None, budget) else "")


def describe_state(state: dict | None) -> str:
    """A campaign state (status, daily budget) in a few words."""
    if not state:
        return "-"
    return ", ".join(f"{k}={state[k]}" for k in ("status", "daily_budget") if state.get(k) is not None) or "-"


def print_summary(url: str, console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 140))
    with psycopg.connect(url) as conn:
        counts = table_row_counts(conn)
        alerts = live_alerts(conn)
        quarantined = quarantine_reasons(conn)
        held = held_alert_count(conn)

    rows = Table(title="Rows per table", title_justify="left")
    for column in ("schema", "table", "rows"):
        rows.add_column(column, justify="right" if column == "rows" else "left")
    for schema, name, count in counts:
        rows.add_row(schema, name, f"{count:,}")
    console.print(rows)

    if quarantined:
        bad = Table(title="Quarantined rows (raw.quarantine)", title_justify="left")
        for column in ("platform", "stream", "reason", "rows"):
            bad.add_column(column)
        for platform, stream, reason, count in quarantined:
            bad.add_row(platform, stream, reason, str(count))
        console.print(bad)

    title = f"Live alerts: {len(alerts)}" + (f" ({held} more held back, see app.alerts)" if held else "")
    table = Table(title=title, title_justify="left")
    for column in ("severity", "type", "platform", "what", "window"):
        table.add_column(column, no_wrap=column != "what")
    for severity, kind, platform, _entity, title, start, end in alerts:
        table.add_row(severity, kind, platform, title, f"{start}..{end}")
    console.print(table)

    with psycopg.connect(url) as conn:
        print_decisions(conn, console)

    console.print(
        "\n[bold]Next[/bold]\n"
        "  make ui                                    Dagster UI on http://127.0.0.1:3000\n"
        '  psql "$(.venv/bin/adsignal db url)"        query raw.*, marts.*, app.*\n'
        "  .venv/bin/adsignal actions list            approve / reject / execute proposed actions\n"
        "  .venv/bin/adsignal alerts list             acknowledge / resolve alerts\n"
        "  .venv/bin/adsignal --help                  everything else"
    )
