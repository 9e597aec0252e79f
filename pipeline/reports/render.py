"""A ``ReportContent`` into files: HTML (Jinja, charts as inline PNGs), PDF from that HTML, CSV per table.

Charts are drawn by matplotlib on its Agg canvas (no display, no pyplot global state, so concurrent
runs do not share figures); the PDF is xhtml2pdf's rendering of the same HTML (pure Python, no system
libraries), so both formats show the same page.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.reports.content import ReportContent

TEMPLATES_DIR = Path(__file__).parent / "templates"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class RenderError(RuntimeError):
    """A report could not be rendered (a missing logo, a PDF the converter refused)."""


# --- numbers as text -----------------------------------------------------------------------------


def money(value: Decimal | float | None, currency: str) -> str:
    """``1,234.56 USD``; ``-`` when there is nothing to show (a CPA without conversions)."""
    return "-" if value is None else f"{Decimal(value):,.2f} {currency}"


def count(value: Decimal | float | int | None) -> str:
    """Whole numbers with separators; fractional conversions (modelled ones) with 2 decimals."""
    if value is None:
        return "-"
    number = Decimal(value)
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.2f}"


def ratio(value: Decimal | float | None) -> str:
    return "-" if value is None else f"{Decimal(value):,.2f}"


def percent(value: Decimal | float | None) -> str:
    """A fraction as a percentage with 2 decimals: 0.01234 -> ``1.23 %``."""
    return "-" if value is None else f"{Decimal(value) * 100:,.2f} %"


def change(value: Decimal | float | None) -> str:
    """A relative change with its sign: 0.125 -> ``+12.50 %``."""
    return "-" if value is None else f"{Decimal(value) * 100:+,.2f} %"


def formatted(value: Any, kind: str, currency: str) -> str:
    return {"money": lambda v: money(v, currency), "count": count, "ratio": ratio, "percent": percent}[kind](
        value
    )


# --- charts ----------------------------------------------------------------------------------------


def trend_chart_png(trend: Sequence[dict[str, Any]], currency: str, colors: tuple[str, str]) -> bytes:
    """Daily spend (bars) and conversions (line, right axis) as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 2.8), dpi=110)
    FigureCanvasAgg(figure)
    spend_axis = figure.add_subplot()
    days = [row["date_day"] for row in trend]
    spend_axis.bar(days, [float(row["spend"]) for row in trend], color=colors[0], label=f"Spend ({currency})")
    spend_axis.set_ylabel(f"Spend ({currency})")
    conversions_axis = spend_axis.twinx()
    conversions_axis.plot(
        days, [float(row["conversions"]) for row in trend], color=colors[1], marker="o", label="Conversions"
    )
    conversions_axis.set_ylabel("Conversions")
    conversions_axis.set_ylim(bottom=0)
    spend_axis.tick_params(axis="x", labelsize=8)
    figure.autofmt_xdate(rotation=30)
    handles = spend_axis.get_legend_handles_labels()
    more = conversions_axis.get_legend_handles_labels()
    # Above the plot, so it never hides a bar.
    spend_axis.legend(
        handles[0] + more[0],
        handles[1] + more[1],
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=2,
        frameon=False,
        fontsize=8,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    # No "Software" metadata: the same data gives the same bytes whatever matplotlib patch is installed.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def _logo_uri(logo: Path | None) -> str | None:
    if logo is None:
        return None
    mime = IMAGE_TYPES.get(logo.suffix.lower())
    if mime is None:
        raise RenderError(f"branding.logo: {logo} is not a PNG or JPEG file")
    try:
        return data_uri(logo.read_bytes(), mime)
    except OSError as exc:
        raise RenderError(f"branding.logo: cannot read {logo}: {exc}") from exc


# --- HTML and PDF ----------------------------------------------------------------------------------


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a misspelt variable fails the run instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(count=count, ratio=ratio, percent=percent, change=change)
    return environment


def render_html(content: ReportContent) -> str:
    definition = content.definition
    branding = definition.branding
    chart = None
    if content.has("trend"):
        png = trend_chart_png(
            content.trend, content.currency, (branding.primary_color, branding.accent_color)
        )
        chart = data_uri(png, "image/png")
    template = _environment().get_template("report.html.j2")
    return template.render(
        content=content,
        definition=definition,
        branding=branding,
        logo=_logo_uri(branding.logo),
        trend_chart=chart,
        money=lambda value: money(value, content.currency),
        formatted=lambda value, kind: formatted(value, kind, content.currency),
    )


def render_pdf(html: str) -> bytes:
    from xhtml2pdf import pisa

    buffer = io.BytesIO()
    status = pisa.CreatePDF(html, dest=buffer, encoding="utf-8")
    if status.err:
        raise RenderError(f"the PDF converter reported {status.err} error(s)")
    return buffer.getvalue()


# --- CSV -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvTable:
    filename: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def csv_tables(content: ReportContent) -> list[CsvTable]:
    """One CSV per table section, numbers exactly as the marts summed them (no rounding)."""
    tables = []
    if content.has("kpis"):
        rows = [
            {"metric": k.key, "value": k.value, "previous": k.previous, "change": k.change}
            for k in content.kpis
        ]
        tables.append(CsvTable("kpis.csv", ("metric", "value", "previous", "change"), rows))
    measures = ("spend", "impressions", "clicks", "conversions", "conversion_value", "roas", "cpa", "ctr")
    if content.has("platform_table"):
        tables.append(CsvTable("platforms.csv", ("platform", *measures), content.platforms))
    if content.has("campaign_table"):
        keys = ("platform", "account_id", "campaign_id", "campaign_name")
        tables.append(CsvTable("campaigns.csv", (*keys, *measures), content.campaigns))
    if content.has("trend"):
        tables.append(CsvTable("daily.csv", ("date_day", "spend", "conversions"), content.trend))
    if content.has("top_movers"):
        columns = (
            "platform",
            "account_id",
            "campaign_id",
            "campaign_name",
            "previous_spend",
            "spend",
            "change",
            "change_ratio",
        )
        tables.append(CsvTable("top_movers.csv", columns, content.movers))
    if content.has("alerts"):
        columns = ("alert_id", "severity", "status", "platform", "account_id", "entity_name", "title")
        tables.append(CsvTable("alerts.csv", columns, content.alerts))
    return tables


def render_csv(table: CsvTable, currency: str) -> str:
    """The table with a ``currency`` column when it has money (so a file read alone says what it is in)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with_currency = table.filename not in ("alerts.csv",)
    writer.writerow([*table.columns, *(["currency"] if with_currency else [])])
    for row in table.rows:
        values = ["" if row.get(column) is None else row[column] for column in table.columns]
        writer.writerow([*values, *([currency] if with_currency else [])])
    return buffer.getvalue()
