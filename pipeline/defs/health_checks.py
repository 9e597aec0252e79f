"""Data-health asset checks: signal health per platform, source freshness per raw stream.

- ``signal_health_<platform>`` on ``marts/fct_signal_health_daily``: fails (ERROR when an
  account-day is unhealthy, WARN when degraded) for the days of the run's partition window, with
  the accounts, days, scores and issues in its metadata. Non-blocking: the alerts asset downstream
  still runs, it is what turns unhealthy data into DATA_* alerts.
- ``source_freshness`` on each raw stream whose dbt source declares ``freshness`` (the insights
  streams): every account's last succeeded sync in ``raw.sync_runs`` against the source's
  ``warn_after`` / ``error_after``. ``dbt build`` never runs source freshness, so these checks are
  where it shows. They run with their raw asset, and hourly on their own (``source_freshness``
  job), so a platform that stopped syncing turns red even when no run touches it.

Checks on selected assets run with them: the daily job (every non-hourly asset) runs the signal
health checks after dbt and the daily streams' freshness checks after each sync.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from dagster_dbt.dbt_manifest import read_manifest_path

from pipeline.analytics.health_checks import (
    CheckVerdict,
    FreshnessThresholds,
    evaluate_freshness,
    evaluate_signal_health,
    threshold_from_dbt,
)
from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import RawStream
from pipeline.defs.ingestion import raw_asset_key
from pipeline.defs.partitions import daily_partitions
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.transform import AdsignalDbtTranslator, dbt_manifest_path
from pipeline.warehouse.db import connect
from pipeline.warehouse.health_store import latest_scored_day, signal_health_rows, sync_states

SIGNAL_HEALTH_ASSET = dg.AssetKey(["marts", "fct_signal_health_daily"])
# Platforms that reach the warehouse only through imported files (pinterest, reddit, ...).
IMPORTED_PLATFORMS = "imported_platforms"
# Run without a partition window (the UI's "Execute check"): the latest scored days.
UNPARTITIONED_WINDOW_DAYS = 7
# Accounts without a sync attempt for this long are no longer synced by any connection: not stale.
SYNC_HORIZON = timedelta(days=30)


def _severity(verdict: CheckVerdict) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if verdict.severity == "error" else dg.AssetCheckSeverity.WARN


def _result(key: dg.AssetCheckKey, verdict: CheckVerdict) -> dg.AssetCheckResult:
    metadata = {
        name: dg.MetadataValue.md(value)
        if name == "details"
        else (dg.MetadataValue.json(value) if isinstance(value, list | dict) else value)
        for name, value in verdict.metadata.items()
        if value is not None
    }
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=verdict.passed,
        severity=_severity(verdict),
        description=verdict.description,
        metadata=metadata,
    )


def _run_window(context: dg.AssetCheckExecutionContext) -> tuple[date, date] | None:
    """The run's days, inclusive, when the run covers partitions (the daily job always does)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    # From the run's partition keys: the check itself is unpartitioned (one verdict per run, which
    # is what the UI shows), so the context has no time window of its own.
    keys = context.partition_key_range
    first = daily_partitions.time_window_for_partition_key(keys.start).start.date()
    last = daily_partitions.time_window_for_partition_key(keys.end).start.date()
    return first, last


def signal_health_check_key(platform: str) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(SIGNAL_HEALTH_ASSET, f"signal_health_{platform}")


def _signal_health_specs() -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            name=signal_health_check_key(platform).name,
            asset=SIGNAL_HEALTH_ASSET,
            description=(
                f"Signal health of every {platform} account on the run's days: fails as an error when an"
                " account-day is unhealthy, as a warning when degraded; metadata names the accounts,"
                " days, scores and issues."
            ),
        )
        for platform in sorted(CONNECTORS)
    ]
    specs.append(
        dg.AssetCheckSpec(
            name=signal_health_check_key(IMPORTED_PLATFORMS).name,
            asset=SIGNAL_HEALTH_ASSET,
            description=(
                "Signal health of accounts of platforms without a connector (imported CSV files only),"
                " on the run's days; same rules as the per-platform checks."
            ),
        )
    )
    return specs


@dg.multi_asset_check(
    name="signal_health_checks",
    specs=_signal_health_specs(),
    can_subset=True,
    description="Signal health per platform from marts.fct_signal_health_daily, one check each.",
)
def signal_health_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    with connect(warehouse.get_url()) as conn:
        window = _run_window(context)
        if window is None:
            latest = latest_scored_day(conn)
            if latest is None:
                raise dg.Failure(
                    description="marts.fct_signal_health_daily holds no scored day: build the dbt models first"
                )
            window = (latest - timedelta(days=UNPARTITIONED_WINDOW_DAYS - 1), latest)
        first_day, last_day = window
        for key in context.selected_asset_check_keys:
            platform = key.name.removeprefix("signal_health_")
            if platform == IMPORTED_PLATFORMS:
                rows = signal_health_rows(conn, first_day, last_day, exclude_platforms=sorted(CONNECTORS))
                label = "imported platforms"
            else:
                rows = signal_health_rows(conn, first_day, last_day, platform=platform)
                label = platform
            verdict = evaluate_signal_health(label, rows, first_day, last_day)
            if not verdict.passed:
                context.log.warning(verdict.description)
            yield _result(key, verdict)


def _source_freshness() -> dict[dg.AssetKey, FreshnessThresholds]:
    """Thresholds of every dbt source with ``freshness`` set, by the raw asset key it maps to."""
    manifest = read_manifest_path(dbt_manifest_path())
    translator = AdsignalDbtTranslator()
    thresholds: dict[dg.AssetKey, FreshnessThresholds] = {}
    for source in manifest.get("sources", {}).values():
        config = source.get("config") or {}
        asset_key = translator.get_asset_key(source)
        freshness = config.get("freshness") or source.get("freshness") or {}
        warn_after = threshold_from_dbt(freshness.get("warn_after"))
        error_after = threshold_from_dbt(freshness.get("error_after"))
        if warn_after or error_after:
            thresholds[asset_key] = FreshnessThresholds(warn_after, error_after)
    return thresholds


def _freshness_check(stream: RawStream, thresholds: FreshnessThresholds) -> dg.AssetChecksDefinition:
    label = f"{stream.platform} {stream.name}"
    bounds = ", ".join(
        f"{name} {delta.total_seconds() / 3600:g} h"
        for name, delta in (("warn after", thresholds.warn_after), ("error after", thresholds.error_after))
        if delta is not None
    )

    @dg.asset_check(
        asset=raw_asset_key(stream),
        name="source_freshness",
        description=(
            f"Every {stream.platform} account's last succeeded sync of {stream.name} (raw.sync_runs) is"
            f" recent enough: {bounds} (the dbt source's freshness)."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        now = datetime.now(UTC)
        with connect(warehouse.get_url()) as conn:
            states = sync_states(conn, stream.platform, stream.name, attempted_since=now - SYNC_HORIZON)
        verdict = evaluate_freshness(label, states, now, thresholds)
        if not verdict.passed:
            context.log.warning(verdict.description)
        return _result(dg.AssetCheckKey(raw_asset_key(stream), "source_freshness"), verdict)

    return _check


def source_freshness_checks() -> list[dg.AssetChecksDefinition]:
    thresholds = _source_freshness()
    return [
        _freshness_check(stream, thresholds[raw_asset_key(stream)])
        for connector in CONNECTORS.values()
        for stream in connector.streams.values()
        if raw_asset_key(stream) in thresholds
    ]


freshness_checks = source_freshness_checks()

source_freshness_job = dg.define_asset_job(
    "source_freshness",
    selection=dg.AssetSelection.checks(*freshness_checks),
    description="Source freshness of every raw stream (raw.sync_runs vs the dbt sources' thresholds), no sync.",
)

source_freshness_schedule = dg.ScheduleDefinition(
    name="source_freshness_hourly",
    job=source_freshness_job,
    cron_schedule="30 * * * *",
    execution_timezone="UTC",
    description="Hourly: a platform that stopped syncing turns its raw streams' freshness checks red.",
)

defs = dg.Definitions(
    asset_checks=[signal_health_checks, *freshness_checks],
    jobs=[source_freshness_job],
    schedules=[source_freshness_schedule],
)
