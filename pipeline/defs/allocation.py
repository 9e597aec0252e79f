"""The budget-allocation asset: fit response curves, split the next period's budget, propose the moves."""

from collections import Counter
from datetime import date, timedelta
from typing import Any

import dagster as dg

from pipeline.analytics.budget import response_curves_svg, svg_data_uri
from pipeline.analytics.budget.experiment_plan import ExperimentSettings, attach_experiments
from pipeline.analytics.budget.plan import AllocationSettings, plan_allocation
from pipeline.analytics.budget.uncertainty import curve_pool
from pipeline.analytics.guardrails import GuardrailSettings
from pipeline.config import settings
from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.tenancy import active_tenant_ids, per_tenant_metadata
from pipeline.warehouse.access_store import reporting_currency_of
from pipeline.warehouse.actions_store import action_status_counts, propose_actions
from pipeline.warehouse.allocation_store import (
    allocation_daily_frame,
    link_actions,
    reporting_currency,
    save_allocation,
)
from pipeline.warehouse.db import connect
from pipeline.warehouse.experiments_store import (
    held_experiment_keys,
    record_refits,
    save_experiments,
    step_experiments,
)
from pipeline.warehouse.marts_store import campaign_budgets_frame, signal_health_frame

# The picture: the largest campaigns only, so the metadata stays small.
MAX_CURVE_PANELS = 12


@dg.asset(
    key=["app", "budget_allocations"],
    deps=[
        dg.AssetKey(["marts", "fct_campaign_performance_daily"]),
        dg.AssetKey(["marts", "dim_campaigns"]),
        dg.AssetKey(["marts", "fct_signal_health_daily"]),
        dg.AssetKey(["app", "alerts"]),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres"},
    description=(
        "Budget allocation for the next period (ADSIGNAL_ALLOCATION_PERIOD_DAYS, default 7) as of the last day"
        " of the run's window: a saturating response curve per campaign fitted on the last 90 days in the"
        " reporting currency, the total (default: current daily spend x period days) split to maximise the"
        " expected conversion value under per-campaign bounds; accounts with unhealthy or degraded signal"
        " health are left out. One row per period and run window in app.budget_allocations with per-campaign"
        " lines; material changes (>= 10 %) are proposed as REALLOCATE actions. Campaigns whose curvature is"
        " unidentified and worth learning get a BUDGET_EXPERIMENT (app.budget_experiments) instead, stepped day by"
        " day through the action queue; the expected value's 90 % interval is in the metadata."
    ),
    metadata={"dagster/table_name": "app.budget_allocations"},
)
def budget_allocations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    first_day, last_day = partition_window(context)
    as_of = last_day + timedelta(days=1)  # the curves use the complete days before as_of
    url = warehouse.get_url()
    with connect(url) as conn:
        tenants = active_tenant_ids(conn)
    by_tenant = {
        tenant_id: _allocate_for_tenant(context, url, first_day, last_day, as_of, tenant_id)
        for tenant_id in tenants
    }
    return dg.MaterializeResult(metadata=per_tenant_metadata(by_tenant))


def _allocate_for_tenant(
    context: dg.AssetExecutionContext, url: str, first_day: date, last_day: date, as_of: date, tenant_id: str
) -> dict[str, Any]:
    """One tenant's allocation: fitted on its campaigns only, its actions and experiments."""
    config = AllocationSettings.from_env()
    guardrails = GuardrailSettings.from_env()
    experiment_settings = ExperimentSettings.from_env(max_change_pct=guardrails.max_change_pct)
    since = as_of - timedelta(days=config.lookback_days)
    with connect(url) as conn:
        frame = allocation_daily_frame(conn, since, last_day, tenant_id=tenant_id)
        held = held_experiment_keys(conn, tenant_id=tenant_id)
        plan = plan_allocation(
            frame,
            as_of=as_of,
            campaigns=campaign_budgets_frame(conn, tenant_id=tenant_id),
            health=signal_health_frame(conn, since, last_day, tenant_id=tenant_id),
            settings=config,
            reporting_currency=reporting_currency(
                conn,
                since,
                last_day,
                reporting_currency_of(conn, tenant_id, settings().reporting_currency),
                tenant_id=tenant_id,
            ),
            hold=held,
        )
        plan, assessments, planned = attach_experiments(plan, experiment_settings, exclude=held)
        # Running experiments take today's step first (a new proposal must not race them).
        stepped = step_experiments(conn, as_of, tenant_id=tenant_id, settings=guardrails)
        refits = record_refits(conn, curve_pool(plan.curves).posterior_of(), as_of, tenant_id=tenant_id)
        with conn.transaction():
            allocation_id = save_allocation(
                conn, plan, window=(first_day, last_day), tenant_id=tenant_id, run_id=context.run_id
            )
            proposals = plan.proposals(allocation_id)
            action_ids = propose_actions(conn, proposals, tenant_id=tenant_id, run_id=context.run_id)
            link_actions(
                conn,
                allocation_id,
                {
                    (p.platform, p.account_id, p.campaign_id): a
                    for p, a in zip(proposals, action_ids, strict=True)
                },
            )
            experiments = save_experiments(
                conn,
                allocation_id,
                planned,
                tenant_id=tenant_id,
                run_id=context.run_id,
                settings=guardrails,
            )
        statuses = action_status_counts(conn, action_ids)

    comparison = plan.comparison
    unallocated, unallocated_reason = plan.unallocated()
    metadata: dict[str, dg.RawMetadataValue] = {
        "allocation_id": allocation_id,
        "as_of": as_of.isoformat(),
        "period": f"{plan.period_start.isoformat()}..{plan.period_end.isoformat()}",
        "training_window": f"{plan.training_since.isoformat()}..{plan.training_until.isoformat()}",
        "objective": plan.objective.value,
        "currency": plan.currency,
        "total_budget": round(plan.total_budget, 2),
        "unallocated": round(unallocated, 2),
        "unallocated_reason": unallocated_reason or "",
        "dagster/row_count": len(plan.lines),
        "campaigns_by_treatment": dg.MetadataValue.json(dict(Counter(line.treatment for line in plan.lines))),
        "excluded_accounts": dg.MetadataValue.json(plan.signal_health()["excluded_accounts"]),
        "binding_constraints": dg.MetadataValue.json(plan.binding_constraints()),
        "allocations_by_platform": dg.MetadataValue.json(plan.platform_amounts()),
        "actions_proposed": len(action_ids),
        "actions_by_status": dg.MetadataValue.json(statuses),
        "experiments_proposed": len(experiments),
        "experiments_assessed": len(assessments),
        "experiments_stepped": dg.MetadataValue.json({k: len(v) for k, v in stepped.items()}),
        "experiments_refitted": dg.MetadataValue.json(refits),
    }
    if plan.interval is not None:
        interval = plan.interval
        metadata |= {
            "expected_value_interval": dg.MetadataValue.json(interval.to_dict()),
            "expected_value_low": round(interval.low, 2),
            "expected_value_high": round(interval.high, 2),
        }
    if comparison is not None:
        optimized = comparison["optimized"].expected_outcome
        current = comparison["current"].expected_outcome
        proportional = comparison["proportional_roas"].expected_outcome
        metadata |= {
            "expected_value": round(optimized, 2),
            "expected_value_current_split": round(current, 2),
            "expected_value_proportional_roas": round(proportional, 2),
            "uplift_vs_current_pct": round((optimized / current - 1) * 100, 2) if current > 0 else 0.0,
            "uplift_vs_proportional_roas_pct": (
                round((optimized / proportional - 1) * 100, 2) if proportional > 0 else 0.0
            ),
            "strategies": dg.MetadataValue.md(comparison.to_markdown()),
        }
    if plan.curves:
        svg = response_curves_svg(plan.curves, plan.allocation, max_panels=MAX_CURVE_PANELS)
        metadata["response_curves"] = dg.MetadataValue.md(f"![response curves]({svg_data_uri(svg)})")
    return metadata


defs = dg.Definitions(assets=[budget_allocations])
