"""Reads for the budget allocation and writes of ``app.budget_allocations`` and its lines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from pipeline.analytics.budget.curves import CampaignKey
from pipeline.analytics.budget.plan import AllocationLine, AllocationPlan
from pipeline.jsonable import jsonable
from pipeline.warehouse.marts_store import mart_frame

ALLOCATION_DAILY_COLUMNS = (
    "date_day",
    "platform",
    "account_id",
    "campaign_id",
    "campaign_name",
    "currency",
    "fx_rate",
    "spend",
    "spend_reporting",
    "conversions",
    "conversion_value_reporting",
)


def allocation_daily_frame(
    conn: psycopg.Connection, since: date, until: date, *, tenant_id: str
) -> pd.DataFrame:
    """The tenant's campaign-day spend and outcomes (account and reporting currency) for fitting response curves."""
    return mart_frame(
        conn,
        "marts.fct_campaign_performance_daily",
        ALLOCATION_DAILY_COLUMNS,
        since,
        until,
        order_by="date_day, platform, account_id, campaign_id",
        numeric=("fx_rate", "spend", "spend_reporting", "conversions", "conversion_value_reporting"),
        tenant_id=tenant_id,
    )


def reporting_currency(
    conn: psycopg.Connection, since: date, until: date, default: str, *, tenant_id: str
) -> str:
    """The currency of the tenant's mart rows in the window (one per tenant), else ``default``."""
    row = conn.execute(
        "select max(reporting_currency), count(distinct reporting_currency)"
        " from marts.fct_campaign_performance_daily where tenant_id = %s and date_day between %s and %s",
        (tenant_id, since, until),
    ).fetchone()
    if row is None or row[0] is None:
        return default
    if row[1] > 1:
        raise ValueError(
            f"marts.fct_campaign_performance_daily mixes reporting currencies for tenant {tenant_id}"
            f" between {since} and {until} (its currency changed): rebuild the marts with a full refresh"
        )
    return str(row[0])


def save_allocation(
    conn: psycopg.Connection,
    plan: AllocationPlan,
    *,
    window: tuple[date, date],
    tenant_id: str,
    run_id: str | None,
) -> int:
    """Write the allocation and its lines; a re-run for the same period and window replaces both (same id)."""
    unallocated, unallocated_reason = plan.unallocated()
    header: dict[str, Any] = {
        "tenant": tenant_id,
        "period_start": plan.period_start,
        "period_end": plan.period_end,
        "total": round(plan.total_budget, 2),
        "currency": plan.currency,
        "objective": plan.objective.value,
        "allocations": Jsonb(plan.platform_amounts()),
        "expected": plan.strategy_value("optimized"),
        "current": plan.strategy_value("current"),
        "proportional": plan.strategy_value("proportional_roas"),
        "unallocated": round(unallocated, 2),
        "unallocated_reason": unallocated_reason,
        "binding": Jsonb(jsonable(plan.binding_constraints())),
        "fit_summary": Jsonb(jsonable(plan.fit_summary())),
        "health": Jsonb(jsonable(plan.signal_health())),
        "run": run_id,
        "as_of": plan.as_of,
        "window_start": window[0],
        "window_end": window[1],
        "training_start": plan.training_since,
        "training_end": plan.training_until,
        "period_days": plan.settings.period_days,
        "platforms": Jsonb(jsonable(plan.fit_summary()["platforms"])),
        "comparison": Jsonb(None if plan.comparison is None else jsonable(plan.comparison.to_dict())),
        "low": None if plan.interval is None else round(plan.interval.low, 2),
        "high": None if plan.interval is None else round(plan.interval.high, 2),
        "uncertainty": Jsonb(None if plan.interval is None else jsonable(plan.interval.to_dict())),
    }
    with conn.transaction():
        row = conn.execute(
            """
            insert into app.budget_allocations (tenant_id, period_start, period_end, total_budget, currency,
                objective, allocations, expected_value, current_split_value, proportional_value, unallocated,
                unallocated_reason, binding_constraints, fit_summary, signal_health, run_id, as_of,
                window_start, window_end, training_start, training_end, period_days, platforms, comparison,
                expected_value_low, expected_value_high, uncertainty)
            values (%(tenant)s, %(period_start)s, %(period_end)s, %(total)s, %(currency)s, %(objective)s,
                %(allocations)s, %(expected)s, %(current)s, %(proportional)s, %(unallocated)s,
                %(unallocated_reason)s, %(binding)s, %(fit_summary)s, %(health)s, %(run)s, %(as_of)s,
                %(window_start)s, %(window_end)s, %(training_start)s, %(training_end)s, %(period_days)s,
                %(platforms)s, %(comparison)s, %(low)s, %(high)s, %(uncertainty)s)
            on conflict (tenant_id, period_start, period_end, window_start, window_end)
            do update set total_budget = excluded.total_budget, currency = excluded.currency,
                objective = excluded.objective, allocations = excluded.allocations,
                expected_value = excluded.expected_value, current_split_value = excluded.current_split_value,
                proportional_value = excluded.proportional_value, unallocated = excluded.unallocated,
                unallocated_reason = excluded.unallocated_reason,
                binding_constraints = excluded.binding_constraints, fit_summary = excluded.fit_summary,
                signal_health = excluded.signal_health, run_id = excluded.run_id, as_of = excluded.as_of,
                training_start = excluded.training_start, training_end = excluded.training_end,
                period_days = excluded.period_days, platforms = excluded.platforms,
                comparison = excluded.comparison, expected_value_low = excluded.expected_value_low,
                expected_value_high = excluded.expected_value_high, uncertainty = excluded.uncertainty,
                updated_at = now()
            returning allocation_id
            """,
            header,
        ).fetchone()
        assert row is not None
        allocation_id = int(row[0])
        conn.execute("delete from app.budget_allocation_lines where allocation_id = %s", (allocation_id,))
        with conn.cursor() as cur:
            cur.executemany(
                """
                insert into app.budget_allocation_lines (allocation_id, tenant_id, platform, account_id,
                    campaign_id, campaign_name, currency, current_daily_spend, recommended_daily_budget,
                    min_daily_budget, max_daily_budget, expected_value, current_value, fit_quality, treatment,
                    binding, fx_rate, current_daily_budget, current_daily_spend_reporting,
                    recommended_daily_spend_reporting, change, reason, fit, proposed, not_proposed_reason)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                    %s, %s, %s)
                """,
                [_line_row(allocation_id, tenant_id, line) for line in plan.lines],
            )
    return allocation_id


def link_actions(conn: psycopg.Connection, allocation_id: int, action_ids: Mapping[CampaignKey, int]) -> None:
    """Record on each line the action queued for it."""
    with conn.cursor() as cur:
        cur.executemany(
            "update app.budget_allocation_lines set action_id = %s"
            " where allocation_id = %s and platform = %s and account_id = %s and campaign_id = %s",
            [(action_id, allocation_id, *key) for key, action_id in action_ids.items()],
        )


def _line_row(allocation_id: int, tenant_id: str, line: AllocationLine) -> tuple[Any, ...]:
    return (
        allocation_id, tenant_id, line.platform, line.account_id, line.campaign_id, line.campaign_name,
        line.currency, round(line.current_daily_spend, 2), round(line.recommended_daily_budget, 2),
        _money(line.min_daily_budget), _money(line.max_daily_budget), line.expected_value, line.current_value,
        line.fit_quality, line.treatment, line.binding, line.fx_rate, line.current_daily_budget,
        round(line.current_daily_spend_reporting, 2), round(line.recommended_daily_spend_reporting, 2),
        line.change, line.reason, Jsonb(jsonable(dict(line.fit))), line.propose, line.not_proposed_reason,
    )  # fmt: skip


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
