"""The Dagster code location: assets, checks, jobs, schedules and resources.

Nothing heavy happens at import: the dbt manifest is prepared beforehand (``adsignal dbt prepare``),
connectors open only inside runs.
"""

from __future__ import annotations

import dagster as dg

from pipeline.defs.alerts import alerts
from pipeline.defs.automation import daily_pipeline, daily_with_restatement
from pipeline.defs.ingestion import raw_assets
from pipeline.defs.resources import PlatformsResource, WarehouseResource
from pipeline.defs.transform import build_dbt_assets, dbt_resource

defs = dg.Definitions(
    assets=[*raw_assets(), build_dbt_assets(), alerts],
    jobs=[daily_pipeline],
    schedules=[daily_with_restatement],
    resources={
        "warehouse": WarehouseResource(),
        "platforms": PlatformsResource(),
        "dbt": dbt_resource(),
    },
)
