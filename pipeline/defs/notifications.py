"""The notifications asset: per tenant, one Slack / webhook digest per channel per run, after alerts and rules."""

from datetime import date
from typing import Any

import dagster as dg
import psycopg

from pipeline.config import DEFAULT_TENANT
from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.tenancy import active_tenant_ids, per_tenant_metadata
from pipeline.notifications import NOT_CONFIGURED_MESSAGE, NotificationConfigError, NotificationSettings
from pipeline.notifications.dispatch import ChannelOutcome, send_digests
from pipeline.notifications.tenant_channels import settings_for_tenant
from pipeline.secret_box import SecretKeyError


@dg.asset(
    key=["app", "notifications"],
    deps=[dg.AssetKey(["app", "alerts"]), dg.AssetKey(["app", "rule_runs"])],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres", "slack"},
    description=(
        "Per active tenant, one digest per channel of that tenant (`adsignal tenants notify`; the default"
        " tenant without stored channels: Slack incoming webhook ADSIGNAL_SLACK_WEBHOOK_URL, generic JSON"
        " webhook ADSIGNAL_WEBHOOK_URL signed with ADSIGNAL_WEBHOOK_SECRET) holding the alerts opened or"
        " escalated since that channel was last told, the ones resolved since, and this run's rule notify"
        " actions. Unchanged alerts are never sent again; nothing new sends nothing. Logged in"
        " app.notifications (target redacted to scheme and host)."
    ),
    metadata={"dagster/table_name": "app.notifications"},
)
def notifications(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    _, last_day = partition_window(context)  # the last complete day the alerts were computed on
    url = warehouse.get_url()
    by_tenant: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        tenant_ids = active_tenant_ids(conn)
    for tenant_id in tenant_ids:
        who = "" if tenant_id == DEFAULT_TENANT else f"tenant {tenant_id}: "
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                settings = settings_for_tenant(conn, tenant_id)
        except (NotificationConfigError, SecretKeyError) as exc:  # this tenant's; the others still send
            failed.append(f"{who}{exc}")
            continue
        outcomes = send_digests(url, settings, tenant_id=tenant_id, run_id=context.run_id, as_of=last_day)
        if not settings.configured:
            context.log.info(who + NOT_CONFIGURED_MESSAGE)
        for outcome in outcomes:
            detail = f" after {outcome.attempts} attempt(s)" if outcome.attempts else ""
            error = f": {outcome.error}" if outcome.error else ""
            context.log.info(
                f"{who}{outcome.channel} ({outcome.target}): {outcome.status}, {outcome.item_count} item(s)"
                f"{detail}{error}"
            )
        by_tenant[tenant_id] = _metadata(settings, outcomes, last_day)
        failed += [
            f"{who}{o.channel} ({o.target}) delivery failed: {o.error}"
            for o in outcomes
            if o.status == "failed"
        ]
    metadata = per_tenant_metadata(by_tenant)
    if failed:
        # Recorded and committed first: the items stay pending and the next run sends them. The
        # other tenants' and channels' digests went out.
        raise dg.Failure(description="; ".join(failed), metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


def _metadata(
    settings: NotificationSettings, outcomes: list[ChannelOutcome], last_day: date
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
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
    return metadata


defs = dg.Definitions(assets=[notifications])
