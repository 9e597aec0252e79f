"""The rules asset: evaluate the enabled rules of app.rules as of the run's last day."""

import dagster as dg

from pipeline.config import settings
from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.tenancy import active_tenant_ids, per_tenant_metadata
from pipeline.rule_runs import evaluate_rules
from pipeline.warehouse.access_store import reporting_currency_of
from pipeline.warehouse.db import connect


@dg.asset(
    key=["app", "rule_runs"],
    deps=[
        dg.AssetKey(["app", "alerts"]),
        dg.AssetKey(["marts", "fct_campaign_performance_daily"]),
        dg.AssetKey(["marts", "dim_campaigns"]),
        dg.AssetKey(["marts", "fct_signal_health_daily"]),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres"},
    description=(
        "Every enabled rule of app.rules (adsignal rules import FILE) evaluated over windowed campaign"
        " metrics ending at the last day of the run's window: one app.rule_runs row per rule with the matches"
        " and their metric values, labels in app.campaign_labels, RULE_<id> alerts in app.alerts (resolved"
        " when the rule stops matching), pause / budget changes proposed to the action queue (never sent to a"
        " platform), Slack / webhook notices queued for the run's digest."
    ),
    metadata={"dagster/table_name": "app.rule_runs"},
)
def rule_runs(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    _, last_day = partition_window(context)
    by_tenant = {}
    with connect(warehouse.get_url()) as conn:
        for tenant_id in active_tenant_ids(conn):
            summary = evaluate_rules(
                conn,
                last_day,
                tenant_id=tenant_id,
                run_id=context.run_id,
                reporting_currency=reporting_currency_of(conn, tenant_id, settings().reporting_currency),
            )
            for name in summary.rules_failed:
                context.log.error(
                    f"{tenant_id}: rule {name!r} failed; see app.rule_runs.error and `adsignal rules list`."
                )
            by_tenant[tenant_id] = {
                "as_of": last_day.isoformat(),
                "rules_evaluated": summary.rules_evaluated,
                "rules_failed": len(summary.rules_failed),
                "matches": summary.matches,
                "matches_by_rule": dg.MetadataValue.json(summary.matches_by_rule),
                "actions_by_type": dg.MetadataValue.json(dict(sorted(summary.actions.items()))),
                "actions_by_status": dg.MetadataValue.json(dict(sorted(summary.action_statuses.items()))),
                "alerts_resolved": summary.alerts_resolved,
                "dagster/row_count": len(summary.rule_run_ids),
            }
    if not any(metadata["rules_evaluated"] for metadata in by_tenant.values()):
        context.log.info("No enabled rules in app.rules (adsignal rules import pipeline/examples/rules.yml).")
    return dg.MaterializeResult(metadata=per_tenant_metadata(by_tenant))


defs = dg.Definitions(assets=[rule_runs])
