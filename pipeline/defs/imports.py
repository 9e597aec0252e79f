"""CSV imports: the import folder as an asset, a sensor for new files, a rebuild of what they touched,
and two run-status sensors that record in raw.file_imports whether that rebuild succeeded."""

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from pipeline.config import settings
from pipeline.connectors import CONNECTORS
from pipeline.connectors.csv_import import CSV_STREAMS
from pipeline.defs.automation import daily_pipeline
from pipeline.defs.ingestion import raw_asset_key
from pipeline.defs.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, range_tags
from pipeline.defs.resources import WarehouseResource
from pipeline.imports import FolderImportReport, ImportFailed, import_folder, record_rebuild

CSV_GROUP = "raw_csv"
# On a rebuild run: the run id of the import it rebuilds for, so its outcome reaches raw.file_imports.
REBUILD_OF_IMPORT_RUN_TAG = "adsignal/rebuild_of_import_run"
DAILY_JOB_NAME = daily_pipeline.name  # the job the rebuild runs belong to


def import_dir() -> Path:
    return settings().import_dir


def rebuild_keys(graph: Any) -> list[dg.AssetKey]:
    """The daily assets an import rebuilds: everything the files feed, plus the dbt models those read
    that no connector feeds (exchange rates, the ad and ad group unions), so a warehouse where no
    connector ever ran still builds them. Connector staging is left alone: the unions read it if it exists.
    """
    fed = dg.AssetSelection.groups(CSV_GROUP).downstream() - dg.AssetSelection.groups(CSV_GROUP)
    connector_groups = [f"raw_{platform}" for platform in CONNECTORS]
    read = fed.upstream() - dg.AssetSelection.groups(CSV_GROUP, "staging", *connector_groups)
    return [k for k in (fed | read).resolve(graph) if "hourly" not in k.to_user_string()]


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
    failure: ImportFailed | None = None
    try:
        report = import_folder(warehouse.get_url(), folder, run_id=context.run_id)
    except ImportFailed as exc:
        failure, report = exc, exc.report
    assert isinstance(report, FolderImportReport)
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
    if failure is not None:
        # After the results: the files that did load are materialized, so their days are rebuilt.
        raise dg.Failure(description=str(failure), metadata={"report": dg.MetadataValue.json(summary)})


csv_import_job = dg.define_asset_job("csv_import", selection=dg.AssetSelection.groups(CSV_GROUP))


def _folder_fingerprint(folder: Path) -> str:
    # Tenants' files sit one level down (``<folder>/<tenant>/*.csv``).
    files = sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in [*folder.glob("*.csv"), *folder.glob("*/*.csv")]
    )
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
    job_name=DAILY_JOB_NAME,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def csv_rebuild_sensor(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
) -> dg.RunRequest | dg.SkipReason:
    """After an import, rebuild the daily marts for exactly the days the files replaced, unless the
    import ran inside a daily run over those days: that run builds them itself (the demo's import,
    seen again when the UI first starts this sensor)."""
    materialization = asset_event.asset_materialization
    metadata = materialization.metadata if materialization else {}
    start, end = metadata.get("window_start"), metadata.get("window_end")
    if not start or not end or not start.value or not end.value:
        return dg.SkipReason("the import replaced no days")
    run = context.instance.get_run_by_id(asset_event.run_id)
    if run is not None and run.job_name == DAILY_JOB_NAME:
        first, last = run.tags.get(PARTITION_RANGE_START_TAG), run.tags.get(PARTITION_RANGE_END_TAG)
        if first and last and first <= str(start.value) and str(end.value) <= last:
            return dg.SkipReason(
                f"the import's own {DAILY_JOB_NAME} run ({asset_event.run_id}) builds {start.value}..{end.value}"
            )
    return dg.RunRequest(
        run_key=asset_event.run_id,
        asset_selection=rebuild_keys(context.repository_def.asset_graph),
        tags={
            **range_tags(date.fromisoformat(str(start.value)), date.fromisoformat(str(end.value))),
            REBUILD_OF_IMPORT_RUN_TAG: asset_event.run_id,
        },
    )


_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")
_DBT_PROBLEM = re.compile(r"^\s*((?:Database|Compilation|Runtime) Error in \w+ \S+|Failure in test \S+)")


def _error_summary(message: str, limit: int = 8) -> str:
    """An error in a line: dbt's own errors (node and reason) when dagster-dbt parsed them, else its start."""
    lines = _ANSI_CODE.sub("", message).splitlines()
    if "Errors parsed from dbt logs:" in message:
        problems: list[str] = []
        for index, line in enumerate(lines):
            match = _DBT_PROBLEM.match(line)
            if match and index + 1 < len(lines):
                problem = f"{match.group(1)}: {lines[index + 1].strip()}"
                if problem not in problems:
                    problems.append(problem)
        if problems:
            more = f" (+{len(problems) - limit} more)" if len(problems) > limit else ""
            return "dbt: " + "; ".join(problems[:limit]) + more
    return " ".join(line.strip() for line in lines[:3] if line.strip())


def describe_run_failure(events: Iterable[dg.DagsterEvent]) -> str:
    """One line saying what failed in a run: its failed steps with their errors, failed checks, skips."""
    failed, checks, skipped = [], [], 0
    for event in events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:  # the op's own error, not Dagster's wrapper
                error = error.cause
            failed.append(f"{event.step_key}: {_error_summary(error.message if error else 'failed')}")
        elif event.is_step_skipped:
            skipped += 1
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                checks.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    parts = [f"step {f}" for f in failed]
    if checks:
        parts.append(
            f"failed checks: {', '.join(checks[:10])}"
            + (f" (+{len(checks) - 10})" if len(checks) > 10 else "")
        )
    if skipped:
        parts.append(f"{skipped} step(s) skipped")
    return "; ".join(parts) or "the run failed"


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="csv_rebuild_succeeded",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def csv_rebuild_succeeded(
    context: dg.RunStatusSensorContext, warehouse: WarehouseResource
) -> dg.SkipReason | None:
    """A rebuild after a folder import succeeded: its imports become ``rebuilt``."""
    import_run_id = context.dagster_run.tags.get(REBUILD_OF_IMPORT_RUN_TAG)
    if not import_run_id:
        return dg.SkipReason("not a rebuild after a CSV import")
    record_rebuild(
        warehouse.get_url(), import_run_id=import_run_id, rebuild_run_id=context.dagster_run.run_id
    )
    return None


@dg.run_failure_sensor(name="csv_rebuild_failed", default_status=dg.DefaultSensorStatus.RUNNING)
def csv_rebuild_failed(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource
) -> dg.SkipReason | None:
    """A rebuild after a folder import failed: its imports become ``rebuild_failed``, with what failed."""
    run = context.dagster_run
    import_run_id = run.tags.get(REBUILD_OF_IMPORT_RUN_TAG)
    if not import_run_id:
        return dg.SkipReason("not a rebuild after a CSV import")
    kinds = {
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.STEP_SKIPPED,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    }
    events = [
        entry.dagster_event
        for entry in context.instance.all_logs(run.run_id, of_type=kinds)
        if entry.dagster_event is not None
    ]
    error = describe_run_failure(events) if events else (context.failure_event.message or "the run failed")
    record_rebuild(warehouse.get_url(), import_run_id=import_run_id, error=error, rebuild_run_id=run.run_id)
    return None
