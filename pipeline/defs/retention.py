"""The ``retention`` job: drop what the retention policy says the warehouse no longer keeps.

Daily at 03:00 UTC; ``dry_run: true`` in the launchpad reports what would go without dropping it. The
policy and the SQL are in ``pipeline.warehouse.retention_store``.
"""

import dagster as dg

from pipeline.config import utc_now
from pipeline.defs.resources import WarehouseResource
from pipeline.warehouse.db import connect
from pipeline.warehouse.retention_store import apply_retention


class RetentionConfig(dg.Config):
    dry_run: bool = False  # count what would be dropped, drop nothing


@dg.op(
    description=(
        "Drop rows past their retention: hourly raw tables (35 days), hourly marts (7 days), quarantine"
        " (90 days), audit logs (2 years); days from ADSIGNAL_RETENTION_HOURLY_RAW_DAYS and"
        " ADSIGNAL_RETENTION_HOURLY_DAYS."
    ),
    tags={"kind": "postgres"},
)
def drop_expired_rows(
    context: dg.OpExecutionContext, config: RetentionConfig, warehouse: WarehouseResource
) -> dg.Output[int]:
    with connect(warehouse.get_url()) as conn:
        results = apply_retention(conn, utc_now().date(), dry_run=config.dry_run)
    for result in results:
        verb = "would drop" if config.dry_run else "dropped"
        context.log.info(
            f"{result.relation}: {result.skipped}"
            if result.skipped
            else f"{result.relation}: {verb} {result.rows} rows before {result.cutoff}"
            + (f" ({result.partitions_dropped} whole months)" if result.partitions_dropped else "")
        )
    total = sum(r.rows for r in results)
    return dg.Output(
        total,
        metadata={
            "dry_run": config.dry_run,
            "rows": total,
            "by_relation": dg.MetadataValue.json(
                {
                    r.relation: r.skipped
                    or {"cutoff": r.cutoff.isoformat(), "rows": r.rows, "months": r.partitions_dropped}
                    for r in results
                }
            ),
        },
    )


@dg.job(name="retention", description="Drop rows past the retention policy (dry_run to only count them).")
def retention_job() -> None:
    drop_expired_rows()


retention_schedule = dg.ScheduleDefinition(
    job=retention_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily retention, after the night and before the daily run.",
)

defs = dg.Definitions(jobs=[retention_job], schedules=[retention_schedule])
