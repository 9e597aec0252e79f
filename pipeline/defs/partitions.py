"""Time partitioning shared by raw, dbt and alert assets: one partition per account-local day."""

import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from pipeline.config import utc_now

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


def partition_days(
    partitions: dg.DailyPartitionsDefinition = daily_partitions, *, now: datetime | None = None
) -> tuple[date, date]:
    """The first and the latest day that have a partition (at ``now``, default ``utc_now()``)."""
    earliest = date.fromisoformat(partitions.get_first_partition_key())
    # Partitions are UTC days; one appears when its day is over, `end_offset` days earlier for intraday.
    latest = (now or utc_now()).astimezone(UTC).date() - timedelta(days=1 - partitions.end_offset)
    return earliest, latest


def check_day_range(
    first: date,
    last: date,
    partitions: dg.DailyPartitionsDefinition = daily_partitions,
    *,
    now: datetime | None = None,
) -> None:
    """ValueError saying why first..last is no range of ``partitions`` (reversed, too early, not over yet).

    Checked before a run starts: Dagster handed a reversed range waits forever instead of failing.
    """
    if first > last:
        raise ValueError(f"the range is reversed: {first} is after {last} (give the earlier day first)")
    earliest, latest = partition_days(partitions, now=now)
    if first < earliest:
        raise ValueError(
            f"{first} is before the first partition {earliest} (ADSIGNAL_PARTITIONS_START={PARTITIONS_START})"
        )
    if last > latest:
        raise ValueError(f"{last} is not over yet: the latest day that can be run is {latest}")


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover the partitions first..last (single-run backfill)."""
    if first > last:
        raise ValueError(f"the range is reversed: {first} is after {last}")
    return {PARTITION_RANGE_START_TAG: first.isoformat(), PARTITION_RANGE_END_TAG: last.isoformat()}
