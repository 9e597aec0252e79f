"""`adsignal recommendations`: list and show AI recommendations.

Accepting or rejecting one is deciding its queued action (`adsignal actions approve|reject`): the
recommendation follows its action's status.
"""

from __future__ import annotations

import json

import click

from pipeline.config import DEFAULT_TENANT
from pipeline.jsonable import jsonable

STATUSES = ("pending", "accepted", "rejected", "executed", "expired")


@click.group("recommendations")
def recommendations() -> None:
    """AI recommendations (Claude, or the deterministic fallback) and what became of them."""


@recommendations.command("list")
@click.option(
    "--status",
    "statuses",
    type=click.Choice(STATUSES),
    multiple=True,
    help="Only these statuses (repeatable); default: all.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
def list_command(statuses: tuple[str, ...], limit: int, as_json: bool) -> None:
    """The newest recommendations first."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.recommendations_store import list_recommendations

    with connect() as conn:
        rows = list_recommendations(conn, tenant_id=DEFAULT_TENANT, statuses=statuses or None, limit=limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(jsonable(row)))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"AI recommendations ({len(rows)})")
    for column in ("id", "as of", "status", "by", "action"):
        table.add_column(column, no_wrap=True)
    for column in ("entity", "title", "conf.", "queued action"):
        table.add_column(column)
    for row in rows:
        entity = f"{row['platform']}/{row['account_id'] or '-'}/{row['entity_id']}"
        queued = f"{row['action_id']} ({row['action_status']})" if row["action_id"] else ""
        table.add_row(
            str(row["recommendation_id"]),
            str(row["as_of"]),
            row["status"],
            row["produced_by"],
            row["action"],
            escape(entity),
            escape(row["title"]),  # names in titles are platform text: no rich markup from them
            f"{row['confidence']:.2f}",
            queued,
        )
    Console().print(table)


@recommendations.command("show")
@click.argument("recommendation_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The whole record as JSON.")
def show_command(recommendation_id: int, as_json: bool) -> None:
    """One recommendation with its citations, queued action, model call and measured effect."""
    from pipeline.warehouse.db import connect
    from pipeline.warehouse.recommendations_store import get_recommendation

    with connect() as conn:
        row = get_recommendation(conn, recommendation_id, tenant_id=DEFAULT_TENANT)
    if row is None:
        raise click.ClickException(f"no recommendation {recommendation_id}")
    if as_json:
        click.echo(json.dumps(jsonable(row), indent=2))
        return
    lines = [
        f"recommendation {row['recommendation_id']}  [{row['status']}]  as of {row['as_of']}",
        f"  {row['action']} {row['entity_level']} {row['platform']}/{row['account_id'] or '-'}/{row['entity_id']}"
        + (f"  ({row['entity_name']})" if row["entity_name"] else ""),
        f"  title:       {row['title']}",
        f"  rationale:   {row['rationale']}",
        f"  confidence:  {row['confidence']:.2f}",
        f"  produced by: {row['produced_by']}" + (f" ({row['model']})" if row["model"] else ""),
    ]
    if row["fallback_reason"]:
        lines.append(f"  fallback:    {row['fallback_reason']}")
    if row["proposed_change"]:
        lines.append(f"  change:      {json.dumps(row['proposed_change'])}")
    if row["action_id"]:
        lines.append(f"  action:      {row['action_id']} ({row['action_status']})")
    if row["status_reason"]:
        lines.append(
            f"  status:      {row['status_reason']} by {row['status_changed_by']} at {row['status_changed_at']}"
        )
    if row["llm_status"]:
        lines.append(
            f"  model call:  {row['llm_status']}, {row['llm_latency_ms']} ms,"
            f" {row['llm_input_tokens']} in / {row['llm_output_tokens']} out tokens"
        )
    lines.append("  citations:")
    for citation in row["citations"]:
        lines.append(
            f"    {citation['source']:<10} {citation['id']}  {citation['field']} = {citation['value']}"
        )
    if row["result_metrics"]:
        lines.append(f"  measured effect: {json.dumps(row['result_metrics'].get('change'))}")
    click.echo("\n".join(lines))
