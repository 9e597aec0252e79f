"""The AI recommendations asset: Claude when configured and trustworthy, the deterministic recommender else."""

from datetime import date, timedelta
from typing import Any

import dagster as dg

from pipeline.analytics.recommender import RecommenderConfig, build_context, measure_effect
from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.tenancy import active_tenant_ids, per_tenant_metadata
from pipeline.llm.claude import ClaudeSettings
from pipeline.llm.recommendations import produce_recommendations
from pipeline.platforms import Capability, platforms_with
from pipeline.warehouse.db import connect
from pipeline.warehouse.marts_store import campaign_daily_frame
from pipeline.warehouse.recommendations_store import (
    as_date,
    executed_awaiting_results,
    load_inputs,
    pending_recommendation_count,
    record_llm_call,
    save_result_metrics,
    store_recommendations,
)


@dg.asset(
    key=["app", "ai_recommendations"],
    deps=[
        dg.AssetKey(["app", "alerts"]),
        dg.AssetKey(["app", "budget_allocations"]),
        dg.AssetKey(["app", "rule_runs"]),
        dg.AssetKey(["marts", "fct_campaign_performance_daily"]),
        dg.AssetKey(["marts", "dim_campaigns"]),
        dg.AssetKey(["marts", "fct_signal_health_daily"]),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres", "anthropic"},
    description=(
        "Recommendations (PAUSE, RESUME, BUDGET_CHANGE, REALLOCATE, INVESTIGATE) as of the last day of the"
        " run's window, from campaign metrics, live alerts, the latest allocation and rule matches, each citing"
        " the numbers it rests on. With ANTHROPIC_API_KEY set, Claude answers through a strict tool and its"
        " answer is validated against the context before anything is kept; without a key, on an API error or"
        " a failed validation the deterministic recommender answers (produced_by, fallback_reason). Every"
        " model call is logged to app.llm_calls. Campaign changes are queued for approval in the action"
        " queue; executed ones get their measured effect (result_metrics) once enough days have passed."
    ),
    metadata={"dagster/table_name": "app.ai_recommendations"},
)
def ai_recommendations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    _, as_of = partition_window(context)
    url = warehouse.get_url()
    config = RecommenderConfig()
    with connect(url) as conn:
        tenants = active_tenant_ids(conn)
    by_tenant = {
        tenant_id: _recommend_for_tenant(context, url, as_of, config, tenant_id) for tenant_id in tenants
    }
    return dg.MaterializeResult(metadata=per_tenant_metadata(by_tenant))


def _recommend_for_tenant(
    context: dg.AssetExecutionContext, url: str, as_of: date, config: RecommenderConfig, tenant_id: str
) -> dict[str, Any]:
    """One tenant's recommendations: its marts, alerts, allocation and rule matches only."""
    with connect(url) as conn:
        inputs = load_inputs(conn, as_of, tenant_id=tenant_id)
    recommender_context = build_context(
        as_of=as_of,
        campaign_daily=inputs.campaign_daily,
        campaigns=inputs.campaigns,
        health=inputs.health,
        alerts=inputs.alerts,
        allocation_lines=inputs.allocation_lines,
        rule_matches=inputs.rule_matches,
        writable_platforms=platforms_with(Capability.WRITE_CAMPAIGNS),
        config=config,
    )
    # The model call happens outside any database transaction; its record is kept even if storing fails.
    outcome = produce_recommendations(recommender_context, ClaudeSettings.from_env())
    if outcome.fallback_reason:
        context.log.info(f"{tenant_id}: deterministic recommender used: {outcome.fallback_reason}")

    with connect(url) as conn:
        call_id = None
        if outcome.llm_call is not None:
            with conn.transaction():
                call_id = record_llm_call(
                    conn,
                    outcome.llm_call,
                    tenant_id=tenant_id,
                    run_id=context.run_id,
                    as_of=as_of,
                    recommendations_count=len(outcome.recommendations)
                    if outcome.produced_by == "claude"
                    else None,
                )
        stored = store_recommendations(
            conn,
            outcome.recommendations,
            produced_by=outcome.produced_by,
            model=outcome.model,
            fallback_reason=outcome.fallback_reason,
            llm_call_id=call_id,
            tenant_id=tenant_id,
            run_id=context.run_id,
            as_of=as_of,
        )
        if stored.skipped_reason:
            context.log.warning(f"{tenant_id}: {stored.skipped_reason}")

        # Executed recommendations get their before/after effect once measure_days complete days followed.
        measured = 0
        awaiting = executed_awaiting_results(
            conn, tenant_id=tenant_id, executed_before=as_of - timedelta(days=config.measure_days - 1)
        )
        if awaiting:
            first = min(as_date(r["executed_at"]) for r in awaiting) - timedelta(days=config.measure_days)
            history = campaign_daily_frame(conn, first, as_of, tenant_id=tenant_id)
            with conn.transaction():
                for rec in awaiting:
                    effect = measure_effect(
                        history,
                        platform=rec["platform"],
                        account_id=rec["account_id"],
                        campaign_id=rec["campaign_id"],
                        executed_on=as_date(rec["executed_at"]),
                        days=config.measure_days,
                        last_complete_day=as_of,
                    )
                    if effect is not None:
                        save_result_metrics(conn, rec["recommendation_id"], effect)
                        measured += 1
        pending = pending_recommendation_count(conn, tenant_id)

    by_action: dict[str, int] = {}
    for rec in outcome.recommendations:
        by_action[rec.action] = by_action.get(rec.action, 0) + 1
    return {
        "as_of": as_of.isoformat(),
        **outcome.metadata,
        "llm_call_id": call_id,
        "campaigns_in_context": len(recommender_context.campaigns),
        "alerts_in_context": len(recommender_context.alerts),
        "allocation_id": inputs.allocation_id,
        "rule_matches_in_context": len(recommender_context.rules),
        "recommendations": len(outcome.recommendations),
        "no_action_answers": len(outcome.no_action),
        "by_action": dg.MetadataValue.json(by_action),
        "inserted": len(stored.inserted),
        "refreshed": len(stored.refreshed),
        "expired": len(stored.expired),
        "actions_queued": len(stored.action_ids),
        "actions_linked": len(stored.linked),
        "statuses_synced": stored.synced,
        "results_measured": measured,
        "skipped_reason": stored.skipped_reason,
        "dagster/row_count": pending,
    }


defs = dg.Definitions(assets=[ai_recommendations])
