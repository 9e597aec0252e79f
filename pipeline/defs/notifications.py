"""The notifications asset: one Slack / webhook digest per channel per run, after alerts and rules."""

import dagster as dg

from pipeline.config import DEFAULT_TENANT
from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.notifications import NOT_CONFIGURED_MESSAGE, settings_from_env
from pipeline.notifications.dispatch import send_digests


@dg.asset(
    key=["app", "notifications"],
    deps=[dg.AssetKey(["app", "alerts"]), dg.AssetKey(["app", "rule_runs"])],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres", "slack"},
    description=(
        "One digest per configured channel (Slack incoming webhook: ADSIGNAL_SLACK_WEBHOOK_URL; generic JSON"
        " webhook: ADSIGNAL_WEBHOOK_URL, signed with ADSIGNAL_WEBHOOK_SECRET) holding the alerts opened or"
        " escalated since that channel was last told, the ones resolved since, and this run's rule notify"
        " actions. Unchanged alerts are never sent again; nothing new sends nothing. Logged in"
        " app.notifications (target redacted to scheme and host)."
    ),
    metadata={"dagster/table_name": "app.notifications"},
)
def notifications(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    _, last_day = partition_window(context)  # the last complete day the alerts were computed on
    settings = settings_from_env()
    outcomes = send_digests(
        warehouse.get_url(), settings, tenant_id=DEFAULT_TENANT, run_id=context.run_id, as_of=last_day
    )
    if not settings.configured:
        context.log.info(NOT_CONFIGURED_MESSAGE)
    for outcome in outcomes:
        detail = f" after {outcome.attempts} attempt(s)" if outcome.attempts else ""
        error = f": {outcome.error}" if outcome.error else ""
        context.log.info(
            f"{outcome.channel} ({outcome.target}): {outcome.status}, {outcome.item_count} item(s){detail}{error}"
        )
    metadata: dict[str, dg.RawMetadataValue] = {
        "data_as_of": last_day.isoformat(),
        "configured": settings.configured,
        "min_severity": settings.min_severity,
        "channels": dg.MetadataValue.json(
            {
                o.channel: {
                    "target": o.target,
                    "status": o.status,
                    "items": o.item_count,
                    "counts": o.counts,
                    "attempts": o.attempts,
                    "status_code": o.status_code,
                    "error": o.error,
                    "notification_id": o.notification_id,
                }
                for o in outcomes
            }
        ),
        "sent": sum(1 for o in outcomes if o.status == "sent"),
        "failed": sum(1 for o in outcomes if o.status == "failed"),
    }
    if not settings.configured:
        metadata["note"] = NOT_CONFIGURED_MESSAGE
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        # Recorded and committed first: the items stay pending and the next run sends them.
        raise dg.Failure(
            description="; ".join(f"{o.channel} ({o.target}) delivery failed: {o.error}" for o in failed),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


defs = dg.Definitions(assets=[notifications])
