"""Jobs and schedules."""

import os
from datetime import timedelta

import dagster as dg

from pipeline.defs.partitions import range_tags

# Platforms restate recent days (attribution): the daily run re-syncs this many days before yesterday.
RESTATEMENT_LOOKBACK_DAYS = int(os.environ.get("ADSIGNAL_LOOKBACK_DAYS", "28"))

daily_pipeline = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.all(),
    description="Sync every platform for a window of days, rebuild the marts for it, refresh alerts.",
)


@dg.schedule(job=daily_pipeline, cron_schedule="0 3 * * *", execution_timezone="UTC")
def daily_with_restatement(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Yesterday plus the restatement lookback, as one run (partition status stays truthful)."""
    yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
    first = yesterday - timedelta(days=RESTATEMENT_LOOKBACK_DAYS)
    return dg.RunRequest(run_key=f"daily-{yesterday.isoformat()}", tags=range_tags(first, yesterday))
