"""Tables that dbt and the assets read but no asset materializes: written by the CLI, by the action
executor, or as the bookkeeping of every sync. Declared so the UI shows them described and owned."""

import dagster as dg

tables = [
    dg.AssetSpec(
        ["app", "actions_queue"],
        description=(
            "Proposed campaign changes (rules, recommendations, allocations, experiments) waiting for a"
            " person; approved, rejected and executed through `adsignal actions` or the execute_action job."
        ),
        group_name="decisions",
        kinds={"postgres"},
        metadata={"dagster/table_name": "app.actions_queue"},
    ),
    dg.AssetSpec(
        ["app", "ai_actions_log"],
        description="Every execution attempt of a queued action: dry runs, guardrail blocks, previous and new state.",
        group_name="decisions",
        kinds={"postgres"},
        metadata={"dagster/table_name": "app.ai_actions_log"},
    ),
    dg.AssetSpec(
        ["app", "platform_connections"],
        description="Platform connections per tenant (`adsignal connections add`), credentials encrypted.",
        group_name="ingestion",
        kinds={"postgres"},
        metadata={"dagster/table_name": "app.platform_connections"},
    ),
    dg.AssetSpec(
        ["app", "tenants"],
        description=(
            "Tenants (`adsignal tenants add`): status, settings and reporting currency; the ad facts"
            " convert money into each tenant's reporting currency."
        ),
        group_name="ingestion",
        kinds={"postgres"},
        metadata={"dagster/table_name": "app.tenants"},
    ),
    dg.AssetSpec(
        ["raw", "sync_runs"],
        description="One row per sync of a stream and account: window, rows, status and error; signal health reads it.",
        group_name="ingestion",
        kinds={"postgres"},
        metadata={"dagster/table_name": "raw.sync_runs"},
    ),
]

defs = dg.Definitions(assets=tables)
