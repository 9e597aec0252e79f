"""The alerts asset: run the detector over the campaign mart and keep ``app.alerts`` current."""

from collections import Counter
from datetime import timedelta

import dagster as dg

from pipeline.analytics.alerts import detect_alerts
from pipeline.config import DEFAULT_TENANT
from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.warehouse.app_store import (
    campaign_budgets_frame,
    campaign_daily_frame,
    signal_health_frame,
    upsert_alerts,
)
from pipeline.warehouse.db import connect

# The detector's same-weekday baseline (28 days) plus its longest scored window (3 days), and slack.
DETECTION_HISTORY_DAYS = 35


@dg.asset(
    key=["app", "alerts"],
    deps=[
        dg.AssetKey(["marts", "fct_campaign_performance_daily"]),
        dg.AssetKey(["marts", "dim_campaigns"]),
        dg.AssetKey(["marts", "fct_signal_health_daily"]),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres"},
    description=(
        "Alerts on campaigns, accounts and platforms (ROAS drop, CPA/CPC spike, zero conversions, CTR drop,"
        " spend pacing) and data alerts where signal health is degraded, with their evidence, as of the last"
        " day of the run's window; business alerts on unhealthy data are held (status suppressed, with the"
        " reason). One live alert per entity and type in app.alerts."
    ),
    metadata={"dagster/table_name": "app.alerts"},
)
def alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    _, last_day = partition_window(context)
    as_of = last_day + timedelta(days=1)  # the detector scores the complete days before as_of
    with connect(warehouse.get_url()) as conn:
        since = as_of - timedelta(days=DETECTION_HISTORY_DAYS)
        frame = campaign_daily_frame(conn, since, last_day)
        detected = detect_alerts(
            frame,
            as_of=as_of,
            budgets=campaign_budgets_frame(conn),
            health=signal_health_frame(conn, since, last_day),
        )
        counts = upsert_alerts(conn, detected, tenant_id=DEFAULT_TENANT, run_id=context.run_id)
        live = conn.execute(
            "select count(*) from app.alerts where status in ('open', 'acknowledged')"
        ).fetchone()
    by_type = Counter(a.alert_type for a in detected if not a.suppressed_reason)
    by_severity = Counter(a.severity for a in detected)
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "campaign_days_scored": len(frame),
            "alerts_detected": len(detected),
            "alerts_held": sum(1 for a in detected if a.suppressed_reason),
            "alerts_opened": counts["opened"],
            "alerts_updated": counts["updated"],
            "dagster/row_count": live[0] if live else 0,
            "by_type": dg.MetadataValue.json(dict(by_type)),
            "by_severity": dg.MetadataValue.json(dict(by_severity)),
        }
    )
