"""The Dagster code location: assets, checks, jobs, schedules and resources.

Nothing heavy happens at import: the dbt manifest is prepared beforehand (``adsignal dbt prepare``),
connectors open only inside runs.
"""

from __future__ import annotations

import os
import warnings

import dagster as dg

from pipeline.defs import (
    actions,
    allocation,
    first_party,
    health_checks,
    notifications,
    recommendations,
    reports,
    retention,
    rules,
    tables,
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
        reports,
        allocation,
        recommendations,
        actions,
        retention,
        first_party,
        tables,
    )
    merged = dg.Definitions.merge(core, *(area.defs for area in areas))
    # Every asset has an owner in the UI: ADSIGNAL_ASSET_OWNERS (emails or team:<name>, comma-separated).
    owners = [o.strip() for o in os.environ.get("ADSIGNAL_ASSET_OWNERS", "team:data-engineering").split(",")]
    owners = [o for o in owners if o]
    with warnings.catch_warnings():  # map_asset_specs is a preview API: its warning is for us, not users
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return merged.map_asset_specs(
            func=lambda spec: spec.replace_attributes(
                owners=spec.owners or owners,
                # dbt seeds have no folder group: they are reference data the transform reads
                group_name="transform" if spec.group_name in (None, "default") else spec.group_name,
            )
        )


defs = build_definitions()
