"""The reports asset: per active tenant, the imported reports whose schedule is due for the partition day."""

from datetime import timedelta
from typing import Any

import dagster as dg

from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.tenancy import active_tenant_ids
from pipeline.reports.stored import run_due_reports
from pipeline.warehouse.db import connect


@dg.asset(
    key=["app", "report_instances"],
    deps=[dg.AssetKey(["marts", "fct_campaign_performance_daily"]), dg.AssetKey(["app", "alerts"])],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="decisions",
    kinds={"python", "postgres", "pdf"},
    description=(
        "Scheduled reports (adsignal reports import FILE, see docs/reports.md): every imported report of an"
        " active tenant whose cron fires the day after a partition day runs for that day (its period ends"
        " by it), writing HTML / PDF / CSV under <data dir>/reports/<tenant>/<report>/<period>/ and one"
        " app.report_instances row per report and period (files with bytes and sha256, deliveries, error);"
        " re-running a period replaces its files and row."
    ),
    metadata={"dagster/table_name": "app.report_instances"},
)
def report_instances(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    first_day, last_day = partition_window(context)
    url = warehouse.get_url()
    with connect(url) as conn:
        tenant_ids = active_tenant_ids(conn)
    ran: list[str] = []
    failed: dict[str, str] = {}
    day = first_day
    while day <= last_day:  # a backfill of a range is one run: each day's due reports
        result = run_due_reports(url, tenant_ids, day)
        for run in result.succeeded:
            label = f"{run.instance.tenant_id}/{run.instance.report_name} {run.instance.period_start}"
            ran.append(label)
            context.log.info(f"{label}: {len(run.instance.files)} file(s) in {run.directory}")
        failed |= {f"{name} (as of {day})": error for name, error in result.failed.items()}
        day += timedelta(days=1)
    metadata: dict[str, Any] = {
        "data_as_of": last_day.isoformat(),
        "reports_run": len(ran),
        "reports_failed": len(failed),
        "runs": dg.MetadataValue.json(ran),
        "dagster/row_count": len(ran) + len(failed),
    }
    if failed:
        # Every due report ran; the failed ones are recorded as failed instances with their error.
        raise dg.Failure(description="; ".join(f"{k}: {v}" for k, v in failed.items()), metadata=metadata)
    if not ran:
        context.log.info(
            "No report due (adsignal reports import pipeline/examples/reports.yml; see its schedule)."
        )
    return dg.MaterializeResult(metadata=metadata)


defs = dg.Definitions(assets=[report_instances])
