"""Jobs and schedules: a daily restatement run per platform, intraday hourly refreshes."""

import os
from collections.abc import Iterator
from datetime import timedelta

import dagster as dg

from pipeline.config import last_complete_day, utc_now
from pipeline.connectors import CONNECTORS
from pipeline.connectors.declarations import restatement_days_of
from pipeline.defs.partitions import range_tags

# Platforms restate recent days (attribution windows): the daily run re-syncs this many days before
# yesterday. Override per platform with ADSIGNAL_LOOKBACK_DAYS_<PLATFORM>, e.g. ..._META=14.
DEFAULT_LOOKBACK_DAYS = 7
HOURLY_DAYS = 3  # hourly facts are kept for recent days; the nightly run settles the last three
# Marks the per-platform runs of one restatement day, so the decisions run can wait for all of them.
RESTATEMENT_DAY_TAG = "adsignal/restatement_day"


def lookback_days(platform: str) -> int:
    configured = os.environ.get(f"ADSIGNAL_LOOKBACK_DAYS_{platform.upper()}")
    if configured:
        return int(configured)
    # the longest restatement the connector's streams declare (their report windows)
    return restatement_days_of(CONNECTORS[platform].streams.values()) or DEFAULT_LOOKBACK_DAYS


def hourly_selection() -> dg.AssetSelection:
    """Hourly raw streams and the dbt models built on them: everything on the intraday partitions.

    By name, like the dbt side (``transform.HOURLY_MODELS``): every hourly asset says so in its key.
    """
    # CSV files land through one import asset for both grains; it runs with the daily pipeline.
    return dg.AssetSelection.key_substring("hourly") - dg.AssetSelection.groups("raw_csv")


def daily_selection() -> dg.AssetSelection:
    return dg.AssetSelection.all() - hourly_selection()


def decision_selection() -> dg.AssetSelection:
    """Alerts, rules, notifications, allocation, recommendations and the views over them."""
    return dg.AssetSelection.groups("decisions").downstream() & daily_selection()


daily_pipeline = dg.define_asset_job(
    "daily_pipeline",
    selection=daily_selection(),
    description="Sync platforms for a window of days, rebuild the daily marts for it, refresh alerts.",
)
intraday_pipeline = dg.define_asset_job(
    "intraday_pipeline",
    selection=hourly_selection(),
    description="Sync recent hourly data and rebuild the hourly marts.",
)


@dg.schedule(
    job=daily_pipeline,
    cron_schedule="0 12 * * *",
    execution_timezone="UTC",
    description="Daily at 12:00 UTC, per platform: yesterday plus its restatement lookback, then everything downstream.",
)
def daily_restatement(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    """Per platform: yesterday plus its restatement lookback, with everything downstream, as one run.

    One run per platform keeps partition status truthful (a TikTok run does not claim to have
    re-synced Meta's 28 days) and lets each platform's pool pace its own API.
    """
    # At 12:00 UTC yesterday has ended in every account's timezone (UTC-12 and east).
    yesterday = last_complete_day(context.scheduled_execution_time)
    graph = context.repository_def.asset_graph
    for platform in CONNECTORS:
        # Decisions look across platforms: they run once, after every platform (decisions_after_restatement).
        selection = dg.AssetSelection.groups(f"raw_{platform}").downstream() & daily_selection()
        yield dg.RunRequest(
            run_key=f"daily-{platform}-{yesterday.isoformat()}",
            tags={
                **range_tags(yesterday - timedelta(days=lookback_days(platform)), yesterday),
                "platform": platform,
                RESTATEMENT_DAY_TAG: yesterday.isoformat(),
            },
            asset_selection=list((selection - decision_selection()).resolve(graph)),
        )


@dg.sensor(job=daily_pipeline, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.RUNNING)
def decisions_after_restatement(
    context: dg.SensorEvaluationContext,
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    """Once every platform's restatement run of the day has finished (succeeded or not), run the decisions
    once for that day: one set of alerts, one allocation, one model call — not one per platform.

    A platform whose run failed still gets decisions: its stale data shows up as data alerts.
    """
    day = last_complete_day(utc_now())
    runs = context.instance.get_runs(filters=dg.RunsFilter(tags={RESTATEMENT_DAY_TAG: day.isoformat()}))
    finished = {run.tags.get("platform") for run in runs if run.is_finished}
    waiting = sorted(set(CONNECTORS) - finished)
    if waiting:
        yield dg.SkipReason(f"decisions for {day} wait for the restatement runs of {', '.join(waiting)}")
        return
    yield dg.RunRequest(
        run_key=f"decisions-{day}",
        tags=range_tags(day, day),
        asset_selection=list(decision_selection().resolve(context.repository_def.asset_graph)),
    )


@dg.schedule(
    job=intraday_pipeline,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    description="Every 15 minutes: yesterday's and today's hours, the hourly marts and hourly alerts.",
)
def intraday_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every 15 minutes: yesterday and today's hours (an account's "today" depends on its timezone);
    at 03:00 the last three days, so the hours settle once the day is over."""
    now = context.scheduled_execution_time
    today = now.date()
    days = HOURLY_DAYS if (now.hour, now.minute) == (3, 0) else 2
    return dg.RunRequest(
        run_key=f"intraday-{now.isoformat()}", tags=range_tags(today - timedelta(days=days - 1), today)
    )
