"""What a run produced, for people: row counts per table, live alerts, where to look next."""

from __future__ import annotations

import psycopg
from rich.console import Console
from rich.table import Table

SCHEMAS = ("raw", "marts", "app")


def table_row_counts(conn: psycopg.Connection) -> list[tuple[str, str, int]]:
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
        (list(SCHEMAS),),
    ).fetchall()
    return [
        (schema, name, conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])
        for schema, name in tables
    ]


def live_alerts(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """select severity, alert_type, platform, entity_name, title, window_start, window_end
           from app.alerts where status in ('open', 'acknowledged')
           order by array_position(array['CRITICAL','HIGH','MEDIUM','LOW'], severity), alert_type, entity_name"""
    ).fetchall()


def quarantine_reasons(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select platform, stream, split_part(reason, ':', 1) as reason, count(*) from raw.quarantine"
        " group by 1, 2, 3 order by 4 desc"
    ).fetchall()


def held_alert_count(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from app.alerts where status = 'suppressed'").fetchone()[0]


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

    console.print(
        "\n[bold]Next[/bold]\n"
        "  make ui                                    Dagster UI on http://127.0.0.1:3000\n"
        '  psql "$(.venv/bin/adsignal db url)"        query raw.*, marts.*, app.*\n'
        "  .venv/bin/adsignal --help                  everything else"
    )
