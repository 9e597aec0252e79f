"""Time partitioning shared by raw, dbt and alert assets: one partition per account-local day."""

import os
from datetime import date

import dagster as dg

# Meta keeps 37 months of insights; the default start keeps the partition list readable.
PARTITIONS_START = os.environ.get("ADSIGNAL_PARTITIONS_START", "2025-01-01")

# Complete days only: a day's partition appears once the day is over (UTC).
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=0)
# Hourly data is read during the day too: today's partition exists while the day runs.
intraday_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)
single_run_backfill = dg.BackfillPolicy.single_run()


def partition_window(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """The run's first and last day, inclusive (a run may cover a range of partitions)."""
    window = context.partition_time_window
    return window.start.date(), date.fromordinal(window.end.date().toordinal() - 1)


PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover the partitions first..last (single-run backfill)."""
    return {PARTITION_RANGE_START_TAG: first.isoformat(), PARTITION_RANGE_END_TAG: last.isoformat()}
