"""CSV imports: the import folder as an asset, a sensor for new files, a rebuild of what they touched."""

import hashlib
import json
from datetime import date
from pathlib import Path

import dagster as dg

from pipeline.config import settings
from pipeline.connectors.csv_import import CSV_STREAMS
from pipeline.defs.ingestion import raw_asset_key
from pipeline.defs.partitions import range_tags
from pipeline.defs.resources import WarehouseResource
from pipeline.imports import ImportFailed, import_folder

CSV_GROUP = "raw_csv"


def import_dir() -> Path:
    return settings().import_dir


@dg.multi_asset(
    name="csv_imports",
    specs=[
        dg.AssetSpec(
            raw_asset_key(stream),
            description=f"{stream.description} Loaded from CSV files in the import folder.",
            group_name=CSV_GROUP,
            kinds={"python", "postgres", "csv"},
            metadata={
                "dagster/table_name": f"raw.{stream.table}",
                "natural_key": ", ".join(stream.key_names),
            },
        )
        for stream in CSV_STREAMS.values()
    ],
    pool="csv_imports",  # two imports of one account at once would race on its window
)
def csv_imports(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Import every new or changed *.csv of the import folder (ADSIGNAL_IMPORT_DIR)."""
    folder = import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        report = import_folder(warehouse.get_url(), folder, run_id=context.run_id)
    except ImportFailed as exc:
        raise dg.Failure(
            description=str(exc), metadata={"report": dg.MetadataValue.json(exc.report.summary())}
        ) from None
    summary = report.summary()
    context.log.info(f"csv import from {folder}: {summary}")
    for stream in CSV_STREAMS.values():
        imported = [r for r in report.imported if r.stream == f"raw.{stream.table}"]
        yield dg.MaterializeResult(
            asset_key=raw_asset_key(stream),
            metadata={
                "folder": str(folder),
                "files_imported": [r.file_name for r in imported],
                "rows_loaded": sum(r.rows_loaded for r in imported),
                "rows_quarantined": sum(r.rows_quarantined for r in imported),
                "window_start": summary["window_start"] or "",
                "window_end": summary["window_end"] or "",
                "files_skipped": dg.MetadataValue.json(report.skipped),
            },
        )


csv_import_job = dg.define_asset_job("csv_import", selection=dg.AssetSelection.groups(CSV_GROUP))


def _folder_fingerprint(folder: Path) -> str:
    files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.glob("*.csv"))
    return hashlib.sha256(json.dumps(files).encode()).hexdigest()


@dg.sensor(job=csv_import_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def csv_folder_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """A file added or changed in the import folder starts an import (already-seen content is skipped)."""
    folder = import_dir()
    if not folder.exists():
        return dg.SkipReason(f"{folder} does not exist")
    fingerprint = _folder_fingerprint(folder)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed files")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=fingerprint)], cursor=fingerprint)


@dg.asset_sensor(
    asset_key=raw_asset_key(CSV_STREAMS["ad_performance_daily"]),
    job_name="daily_pipeline",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def csv_rebuild_sensor(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
) -> dg.RunRequest | dg.SkipReason:
    """After an import, rebuild the daily marts for exactly the days the files replaced."""
    materialization = asset_event.asset_materialization
    metadata = materialization.metadata if materialization else {}
    start, end = metadata.get("window_start"), metadata.get("window_end")
    if not start or not end or not start.value or not end.value:
        return dg.SkipReason("the import replaced no days")
    selection = dg.AssetSelection.groups(CSV_GROUP).downstream() - dg.AssetSelection.groups(CSV_GROUP)
    graph = context.repository_def.asset_graph
    keys = [k for k in selection.resolve(graph) if "hourly" not in k.to_user_string()]
    return dg.RunRequest(
        run_key=asset_event.run_id,
        asset_selection=keys,
        tags=range_tags(date.fromisoformat(str(start.value)), date.fromisoformat(str(end.value))),
    )
