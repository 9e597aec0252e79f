"""First-party data: the events table (filled by ``adsignal events import`` and ``adsignal collect``) and
the identity-resolved profiles built from it, hourly."""

import dagster as dg

from pipeline.config import utc_now
from pipeline.defs.resources import WarehouseResource
from pipeline.profiles import resolve_all_tenants
from pipeline.segment_runs import refresh_segments
from pipeline.warehouse.db import connect
from pipeline.warehouse.profiles_store import tenants_with_events

GROUP = "first_party"

cdp_events = dg.AssetSpec(
    ["raw", "cdp_events"],
    description=(
        "First-party events in the Segment spec, one row per messageId per tenant, PII hashed on the way in;"
        " written by `adsignal events import` and the `adsignal collect` HTTP collector, not by a run."
    ),
    group_name=GROUP,
    kinds={"postgres"},
    metadata={"dagster/table_name": "raw.cdp_events", "natural_key": "tenant_id, message_id"},
)


@dg.asset(
    key=["app", "cdp_profiles"],
    deps=[cdp_events.key],
    group_name=GROUP,
    kinds={"python", "postgres"},
    description=(
        "Identity resolution of the events loaded since the last run, per tenant: identifiers (user id,"
        " anonymous id, email and phone hashes) joined into profiles with stable canonical ids; merges keep"
        " the oldest profile; two user ids never merge (app.cdp_identity_conflicts)."
    ),
    metadata={"dagster/table_name": "app.cdp_profiles"},
)
def cdp_profiles(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    summaries = resolve_all_tenants(warehouse.get_url())
    for s in summaries:
        context.log.info(
            f"{s.tenant_id}: {s.events} events, {s.new_profiles} new profiles, {s.merges} merges,"
            f" {s.conflicts} conflicts; {s.totals}"
        )
    return dg.MaterializeResult(
        metadata={
            "events_read": sum(s.events for s in summaries),  # incl. the minutes re-read for late commits
            "new_profiles": sum(s.new_profiles for s in summaries),
            "merges": sum(s.merges for s in summaries),
            "conflicts": sum(s.conflicts for s in summaries),
            "dagster/row_count": sum(s.totals.get("profiles", 0) for s in summaries),
            "by_tenant": dg.MetadataValue.json({s.tenant_id: s.totals for s in summaries}),
        }
    )


@dg.asset(
    key=["app", "cdp_segments"],
    deps=[cdp_profiles],
    group_name=GROUP,
    kinds={"python", "postgres"},
    description=(
        "Membership of every enabled segment (app.cdp_segments, YAML via `adsignal segments import`), per"
        " tenant, as of the run: who entered and who left (app.cdp_segment_members keeps every stay)."
    ),
    metadata={"dagster/table_name": "app.cdp_segment_members"},
)
def cdp_segments(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    url = warehouse.get_url()
    with connect(url) as conn:
        tenants = tenants_with_events(conn)
    counts = {tenant: refresh_segments(url, tenant, utc_now(), run_id=context.run_id) for tenant in tenants}
    return dg.MaterializeResult(
        metadata={
            "segments": sum(len(c) for c in counts.values()),
            "members": sum(s["members"] for c in counts.values() for s in c.values()),
            "entered": sum(s["entered"] for c in counts.values() for s in c.values()),
            "exited": sum(s["exited"] for c in counts.values() for s in c.values()),
            "by_tenant": dg.MetadataValue.json(counts),
        }
    )


profiles_job = dg.define_asset_job("cdp_profiles", selection=[cdp_profiles.key, cdp_segments.key])
profiles_schedule = dg.ScheduleDefinition(
    job=profiles_job,
    cron_schedule="20 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: resolve the events that arrived since the last run, then refresh the segments.",
)

defs = dg.Definitions(
    assets=[cdp_events, cdp_profiles, cdp_segments], jobs=[profiles_job], schedules=[profiles_schedule]
)
