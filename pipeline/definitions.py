"""The Dagster code location: assets, checks, jobs, schedules and resources.

Nothing heavy happens at import: the dbt manifest is prepared beforehand (``adsignal dbt prepare``),
connectors open only inside runs.
"""

from __future__ import annotations

import dagster as dg

from pipeline.defs import (
    actions,
    allocation,
    first_party,
    health_checks,
    notifications,
    recommendations,
    retention,
    rules,
)
from pipeline.defs.alerts import alert_assets
from pipeline.defs.automation import (
    daily_pipeline,
    daily_restatement,
    decisions_after_restatement,
    intraday_pipeline,
    intraday_refresh,
)
from pipeline.defs.imports import (
    csv_folder_sensor,
    csv_import_job,
    csv_imports,
    csv_rebuild_failed,
    csv_rebuild_sensor,
    csv_rebuild_succeeded,
)
from pipeline.defs.ingestion import raw_assets
from pipeline.defs.resources import PlatformsResource, WarehouseResource
from pipeline.defs.transform import build_dbt_assets, dbt_resource


def build_definitions(warehouse_url: str = "", sandbox_url: str = "") -> dg.Definitions:
    """Empty URLs mean the configured defaults (DATABASE_URL / embedded, ADSIGNAL_SANDBOX_URL)."""
    core = dg.Definitions(
        assets=[*raw_assets(), csv_imports, *build_dbt_assets(), *alert_assets],
        jobs=[daily_pipeline, intraday_pipeline, csv_import_job],
        schedules=[daily_restatement, intraday_refresh],
        sensors=[
            csv_folder_sensor,
            csv_rebuild_sensor,
            csv_rebuild_succeeded,
            csv_rebuild_failed,
            decisions_after_restatement,
        ],
        resources={
            "warehouse": WarehouseResource(url=warehouse_url),
            "platforms": PlatformsResource(sandbox_url=sandbox_url),
            "dbt": dbt_resource(),
        },
    )
    # Each decision area keeps its assets, checks and jobs in its own defs module.
    areas = (
        health_checks,
        rules,
        notifications,
        allocation,
        recommendations,
        actions,
        retention,
        first_party,
    )
    return dg.Definitions.merge(core, *(area.defs for area in areas))


defs = build_definitions()
