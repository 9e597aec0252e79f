"""First-party data: the events table (filled from the events folder by a sensor's runs, and by ``adsignal
events import`` and ``adsignal collect``) and the identity-resolved profiles built from it, hourly."""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from pipeline.config import settings, utc_now
from pipeline.defs.resources import WarehouseResource
from pipeline.event_imports import (
    EventFolderImportFailed,
    EventFolderReport,
    event_files,
    import_events_folder,
    is_settled,
)
from pipeline.profiles import resolve_all_tenants
from pipeline.segment_runs import refresh_segments
from pipeline.warehouse.db import connect
from pipeline.warehouse.profiles_store import tenants_with_events

GROUP = "first_party"
# Resolution reads "the events since the last run": two runs at once (the hourly schedule and a folder
# import's run) would resolve the same events twice. One slot (dagster.yaml's default pool limit).
RESOLUTION_POOL = "cdp_resolution"


def events_dir() -> Path:
    return settings().events_dir


@dg.asset(
    key=["raw", "cdp_events"],
    group_name=GROUP,
    kinds={"python", "postgres", "json"},
    description=(
        "First-party events in the Segment spec, one row per messageId per tenant, PII hashed on the way in."
        " A run imports the new or changed JSON Lines files of the events folder (ADSIGNAL_EVENTS_DIR);"
        " `adsignal events import` and the `adsignal collect` HTTP collector write here outside runs."
    ),
    metadata={"dagster/table_name": "raw.cdp_events", "natural_key": "tenant_id, message_id"},
    pool="events_imports",  # two imports of one file at once would both rewrite its quarantine
)
def cdp_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Import every new or changed *.jsonl / *.ndjson (optionally .gz) of the events folder."""
    folder = events_dir()
    folder.mkdir(parents=True, exist_ok=True)
    failure: EventFolderImportFailed | None = None
    try:
        report = import_events_folder(warehouse.get_url(), folder, now=utc_now(), run_id=context.run_id)
    except EventFolderImportFailed as exc:
        failure, report = exc, exc.report
    assert isinstance(report, EventFolderReport)
    for imported in report.imported:
        context.log.info(f"{imported.file}: {imported.counts()}")
    totals = report.totals()
    context.log.info(
        f"events folder {folder}: {len(report.imported)} file(s) imported {totals}, {len(report.skipped)}"
        f" seen before, {len(report.waiting)} still being written, {len(report.rejected) + len(report.failed)}"
        " not imported"
    )
    # Counts, file names and reasons only: an event's contents (PII) never reach metadata or logs.
    yield dg.MaterializeResult(
        metadata={
            "folder": str(folder),
            "files_imported": dg.MetadataValue.json({r.file: r.counts() for r in report.imported}),
            "events_loaded": totals["loaded"],
            "events_repeated": totals["repeated"],
            "events_quarantined": totals["quarantined"],
            "files_skipped": dg.MetadataValue.json(report.skipped),
            "files_waiting": dg.MetadataValue.json(report.waiting),
            "files_rejected": dg.MetadataValue.json(report.rejected),
            "files_failed": dg.MetadataValue.json(report.failed),
        }
    )
    if failure is not None:
        # After the result: the files that did load are recorded; the run fails so the bad file is seen.
        raise dg.Failure(
            description=str(failure), metadata={"report": dg.MetadataValue.json(report.summary())}
        )


@dg.asset(
    key=["app", "cdp_profiles"],
    deps=[cdp_events],
    group_name=GROUP,
    kinds={"python", "postgres"},
    description=(
        "Identity resolution of the events loaded since the last run, per tenant: identifiers (user id,"
        " anonymous id, email and phone hashes) joined into profiles with stable canonical ids; merges keep"
        " the oldest profile; two user ids never merge (app.cdp_identity_conflicts)."
    ),
    metadata={"dagster/table_name": "app.cdp_profiles"},
    pool=RESOLUTION_POOL,
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
    pool=RESOLUTION_POOL,
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

# A dropped file's people and segments are ready when its run ends, not at the next hour.
events_import_job = dg.define_asset_job(
    "events_import",
    selection=[cdp_events.key, cdp_profiles.key, cdp_segments.key],
    description="Import the events folder's new files, then resolve profiles and refresh segments.",
)


def _folder_fingerprint(files: list[tuple[str, int, int]]) -> str:
    return hashlib.sha256(json.dumps(files).encode()).hexdigest()


@dg.sensor(job=events_import_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def events_folder_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """A file added or changed in the events folder starts an import (already-seen content is skipped).

    Only settled files count (unmodified for SETTLE_SECONDS): one still being written changes the
    fingerprint once it is done, and the run then imports it whole.
    """
    folder = events_dir()
    if not folder.is_dir():
        return dg.SkipReason(f"{folder} does not exist")
    now = utc_now()
    settled, writing = [], []
    for path in event_files(folder):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed since the listing
            continue
        if is_settled(stat, now):
            settled.append((path.name, stat.st_size, stat.st_mtime_ns))
        else:
            writing.append(path.name)
    waiting = f" ({len(writing)} still being written: {', '.join(writing[:5])})" if writing else ""
    fingerprint = _folder_fingerprint(settled)
    if fingerprint == context.cursor:
        return dg.SkipReason(f"no new or changed files{waiting}")
    if not settled:
        return dg.SensorResult(skip_reason=f"no event files in {folder}{waiting}", cursor=fingerprint)
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)], cursor=fingerprint)


defs = dg.Definitions(
    assets=[cdp_events, cdp_profiles, cdp_segments],
    jobs=[profiles_job, events_import_job],
    schedules=[profiles_schedule],
    sensors=[events_folder_sensor],
)
