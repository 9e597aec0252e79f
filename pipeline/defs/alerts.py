"""The alert assets: run the detectors over the campaign marts and keep ``app.alerts`` current.

``app/alerts`` (daily partitions, in the daily job) scores the morning after every day of its run's
range, in order, and writes the alert history they make
(``pipeline.warehouse.alert_history_store``); ``app/hourly_alerts`` (intraday partitions: its key
says "hourly", so it joins the intraday job) scores today so far
(``pipeline.warehouse.alerts_store.sync_alerts``). Both apply the same lifecycle: re-detection updates
the live alert, a passed check resolves it, anything not scored is left alone.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import dagster as dg

from pipeline.analytics.alerting import AlertConfig, Detection, evaluate_hourly_alerts
from pipeline.defs.partitions import (
    daily_partitions,
    intraday_partitions,
    partition_window,
    single_run_backfill,
)
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.tenancy import active_tenant_ids, per_tenant_metadata
from pipeline.warehouse.alert_history_store import replay_daily_alerts
from pipeline.warehouse.alerts_store import HOURLY_DETECTOR, live_alert_count, sync_alerts
from pipeline.warehouse.db import connect
from pipeline.warehouse.marts_store import campaign_hourly_frame


def _detection_metadata(detection: Detection, live: int) -> dict:
    return {
        "alerts_detected": len(detection.alerts),
        "alerts_held": sum(1 for a in detection.alerts if a.suppressed_reason),
        "dagster/row_count": live,
        "by_type": dg.MetadataValue.json(
            dict(Counter(str(a.alert_type) for a in detection.alerts if not a.suppressed_reason))
        ),
        "by_severity": dg.MetadataValue.json(dict(Counter(str(a.severity) for a in detection.alerts))),
    }


def _metadata(detection: Detection, counts: dict, live: int) -> dict:
    return {
        **_detection_metadata(detection, live),
        "alerts_opened": counts["opened"],
        "alerts_updated": counts["updated"],
        "alerts_resolved": counts["resolved"],
        "alerts_skipped_stale": counts["stale"],
        "checks_passed": len(detection.cleared),
        "resolved_alert_ids": dg.MetadataValue.json(counts["resolved_ids"]),
    }


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
        " spend pacing) and data alerts where signal health is degraded in the days the detector reads, with"
        " their evidence, for the morning after every day of the run's window, in order: the alert history"
        " a daily run would have left (a backfill into scored mornings re-derives it from its first"
        " morning). Business alerts on unhealthy data are held (status suppressed, with the reason). One"
        " live alert per entity and type in app.alerts: updated on re-detection, auto-resolved when the"
        " detector scores the entity on healthy data and it passes."
    ),
    metadata={"dagster/table_name": "app.alerts"},
)
def alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    first_day, last_day = partition_window(context)
    by_tenant = {}
    with connect(warehouse.get_url()) as conn:
        for tenant_id in active_tenant_ids(conn):
            result = replay_daily_alerts(
                conn, first_day, last_day, tenant_id=tenant_id, run_id=context.run_id
            )
            live = live_alert_count(conn, tenant_id)
            if result.last_morning > last_day + timedelta(days=1):
                context.log.info(
                    f"{tenant_id}: mornings up to {result.last_morning} were scored before: the alert history"
                    f" was re-derived from {result.first_morning} on."
                )
            by_tenant[tenant_id] = {
                # The morning after the run's last day: what the latest detection is as of.
                "as_of": result.last_morning.isoformat(),
                "first_morning": result.first_morning.isoformat(),
                "mornings_scored": len(result.mornings),
                "campaign_days_read": result.campaign_days_read,
                "alerts_opened": result.opened,
                "alerts_updated": result.updated,
                "alerts_resolved": result.resolved,
                "alerts_removed": result.removed,
                "alerts_unchanged": result.unchanged,
                "daily_alerts_live": result.live,
                **_detection_metadata(result.latest, live),
            }
    return dg.MaterializeResult(metadata=per_tenant_metadata(by_tenant))


class HourlyAlertsConfig(dg.Config):
    """``now``: score as of this instant (ISO 8601 with offset, e.g. 2026-11-15T14:05:00+00:00)
    instead of the wall clock; for re-scoring a past moment."""

    now: str = ""


def scoring_moment(last_day_end: datetime, configured: str) -> datetime:
    """The instant intraday alerts are scored at: the configured one, else the wall clock, but never
    after the end of the run's last partition day (a past window is scored at its end)."""
    if configured:
        moment = datetime.fromisoformat(configured)
        if moment.tzinfo is None:
            raise ValueError(f"now must carry a UTC offset, got {configured!r}")
        return moment.astimezone(UTC)
    return min(datetime.now(UTC), last_day_end)


@dg.asset(
    key=["app", "hourly_alerts"],
    deps=[dg.AssetKey(["marts", "fct_campaign_performance_hourly"])],
    partitions_def=intraday_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres"},
    description=(
        "Intraday alerts on campaigns and accounts: spend and CPC so far today against the same hours of the"
        " previous days (SPEND_SPIKE, CPC_SPIKE), written to app.alerts with the same lifecycle as the daily"
        " alerts (updated on re-detection, auto-resolved once the account's hours are current and pass)."
    ),
    metadata={"dagster/table_name": "app.alerts"},
)
def hourly_alerts(
    context: dg.AssetExecutionContext, config: HourlyAlertsConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    _, last_day = partition_window(context)
    end = datetime(last_day.year, last_day.month, last_day.day, tzinfo=UTC) + timedelta(days=1)
    now = scoring_moment(end, config.now)
    detector_config = AlertConfig()
    # Local days run up to a day either side of UTC; the baseline needs the previous days.
    since = now.date() - timedelta(days=detector_config.hourly_baseline_days + 1)
    by_tenant = {}
    with connect(warehouse.get_url()) as conn:
        for tenant_id in active_tenant_ids(conn):
            frame = campaign_hourly_frame(conn, since, now.date() + timedelta(days=1), tenant_id=tenant_id)
            detection = evaluate_hourly_alerts(frame, now, detector_config)
            counts = sync_alerts(
                conn,
                detection,
                tenant_id=tenant_id,
                run_id=context.run_id,
                detector=HOURLY_DETECTOR,
                as_of=now,
            )
            live = live_alert_count(conn, tenant_id)
            by_tenant[tenant_id] = {
                "scored_at": now.isoformat(),
                "campaign_hours_read": len(frame),
                **_metadata(detection, counts, live),
            }
    return dg.MaterializeResult(metadata=per_tenant_metadata(by_tenant))


# Everything this module defines, for the code location (``pipeline/definitions.py``).
alert_assets = [alerts, hourly_alerts]
