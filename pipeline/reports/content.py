"""What a report shows: the store's reads for one definition and period, gathered into one value.

Rendering (HTML, PDF, CSV) only formats a ``ReportContent``; it never reads the warehouse, so the
numbers in every format are the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from pipeline.reports.definition import Period, ReportDefinition, previous_period, resolve_period
from pipeline.warehouse import reports_store as store


class ReportDataError(ValueError):
    """The marts cannot give this report what it asks for (say, another currency than theirs)."""


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    kind: str  # money, count, ratio, percent: how it is formatted
    value: Decimal | None
    previous: Decimal | None

    @property
    def change(self) -> Decimal | None:
        """Relative change against the previous period (0.25 = +25 %); None without a base."""
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / self.previous


KPI_LABELS: tuple[tuple[str, str, str], ...] = (
    ("spend", "Spend", "money"),
    ("conversions", "Conversions", "count"),
    ("conversion_value", "Conversion value", "money"),
    ("roas", "ROAS", "ratio"),
    ("cpa", "CPA", "money"),
    ("clicks", "Clicks", "count"),
    ("impressions", "Impressions", "count"),
    ("ctr", "CTR", "percent"),
)


@dataclass(frozen=True)
class ReportContent:
    definition: ReportDefinition
    tenant_name: str
    currency: str
    period: Period
    previous: Period | None
    generated_at: datetime
    totals: dict[str, Any]
    kpis: list[Kpi] = field(default_factory=list)
    platforms: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    movers: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def has(self, section_type: str) -> bool:
        return any(s.type == section_type for s in self.definition.sections)


def collect_report(
    conn: psycopg.Connection,
    definition: ReportDefinition,
    as_of: date,
    *,
    generated_at: datetime,
    default_currency: str,
) -> ReportContent:
    """Read what ``definition``'s sections need for the period ending by ``as_of``."""
    period = resolve_period(definition.period, as_of)
    previous = previous_period(definition.period, period) if definition.compare_previous else None
    scope = store.Scope(definition.tenant, definition.filters.platforms, definition.filters.account_ids)
    window = (period.start, period.end)

    currencies = store.reporting_currencies(conn, scope, *window)
    if len(currencies) > 1:
        raise ReportDataError(f"the marts mix reporting currencies in this period: {', '.join(currencies)}")
    currency = currencies[0] if currencies else (definition.currency or default_currency)
    if definition.currency is not None and definition.currency != currency:
        raise ReportDataError(
            f"currency: the report asks for {definition.currency}, the marts report in {currency}"
            " (converting is not built; set the tenant's reporting currency instead)"
        )

    totals = store.period_totals(conn, scope, *window)
    previous_totals = store.period_totals(conn, scope, previous.start, previous.end) if previous else {}
    kpis = [
        Kpi(key, label, kind, totals[key], previous_totals.get(key) if previous else None)
        for key, label, kind in KPI_LABELS
    ]
    sections = {s.type: s for s in definition.sections}
    content = ReportContent(
        definition=definition,
        tenant_name=definition.branding.company_name
        or store.tenant_name(conn, definition.tenant)
        or definition.tenant,
        currency=currency,
        period=period,
        previous=previous,
        generated_at=generated_at,
        totals=totals,
        kpis=kpis,
    )
    if "platform_table" in sections:
        content.platforms.extend(store.totals_by_platform(conn, scope, *window))
    if "campaign_table" in sections:
        content.campaigns.extend(store.top_campaigns(conn, scope, *window, sections["campaign_table"].top))
    if "trend" in sections:
        content.trend.extend(store.daily_trend(conn, scope, *window))
    if "top_movers" in sections and previous is not None:
        content.movers.extend(
            store.campaign_movers(
                conn, scope, window, (previous.start, previous.end), sections["top_movers"].top
            )
        )
    if "alerts" in sections:
        content.alerts.extend(store.live_alerts(conn, scope, sections["alerts"].limit))
    return content
