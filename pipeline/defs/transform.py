"""dbt models as Dagster assets: staging → intermediate → marts, dbt tests as asset checks.

The models are daily-partitioned like the raw assets: a run over a range of days passes that range
to dbt (``min_date``/``max_date``, through the environment), so incremental marts rebuild exactly the re-synced window.
One ``dbt`` pool: two dbt runs must never write the same incremental model at once.
Views and seeds unchanged since this warehouse last built them are left out of a run
(pipeline/warehouse/dbt_state.py): a daily run builds what its window touches.
dbt's output shows as a node counter; the full log goes to a file under the data dir (pipeline/dbt_progress.py).
"""

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import psycopg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY  # not exported at the top level

from pipeline.config import executable
from pipeline.connectors.csv_import import SOURCE as CSV_SOURCE
from pipeline.dbt_progress import compact_dbt_output, dbt_log_path
from pipeline.defs.partitions import (
    daily_partitions,
    intraday_partitions,
    partition_window,
    single_run_backfill,
)
from pipeline.defs.resources import WarehouseResource, dbt_project
from pipeline.platforms import PLATFORM_NAMES
from pipeline.warehouse import dbt_state
from pipeline.warehouse.db import PIPELINE_DBT_RUN_ENV, dbt_env, dbt_window_env
from pipeline.warehouse.test_failures import failing_tests

# dbt sources whose tables adsignal's ingestion lands (each platform's raw streams, imported files).
LANDED_SOURCES = frozenset(PLATFORM_NAMES) | {CSV_SOURCE}


class AdsignalDbtTranslator(DagsterDbtTranslator):
    """Models are grouped by layer; a source table's key is its raw table's ingestion asset, [raw, <identifier>]."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if (
            dbt_resource_props["resource_type"] == "source"
            and dbt_resource_props["source_name"] in LANDED_SOURCES
        ):
            return dg.AssetKey(["raw", dbt_resource_props["identifier"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else super().get_group_name(dbt_resource_props)


def dbt_manifest_path():
    manifest = dbt_project().manifest_path
    if not manifest.exists():
        raise FileNotFoundError(
            f"dbt manifest missing at {manifest}: run `adsignal dbt prepare` (make demo / make ui do this)"
        )
    return manifest


# Hourly models follow the intraday partitions (today included); everything else is daily.
HOURLY_MODELS = "*hourly*"


def _dbt_models(name: str, partitions: dg.PartitionsDefinition, **selection: str) -> dg.AssetsDefinition:
    @dbt_assets(
        name=name,
        manifest=dbt_manifest_path(),
        project=dbt_project(),
        dagster_dbt_translator=AdsignalDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
        ),
        partitions_def=partitions,
        backfill_policy=single_run_backfill,
        pool="dbt",
        **selection,
    )
    def _models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        since, until = partition_window(context)
        # dagster-dbt hands the process environment to dbt: the profile reads ADSIGNAL_PG*, the models
        # the run's window; data tests warn (one platform's failing rows must not skip every platform's
        # marts). Not --vars: changed vars make dbt re-parse the project on every invocation.
        os.environ.update(
            {**dbt_env(warehouse.get_url()), **dbt_window_env(since, until), **PIPELINE_DBT_RUN_ENV}
        )
        manifest = json.loads(dbt_manifest_path().read_text())
        unchanged, fingerprints = dbt_state.unchanged_nodes(
            warehouse.get_url(), manifest, dbt_project().project_dir / "dbt_project.yml"
        )
        if unchanged:
            context.log.info(f"{len(unchanged)} views and seeds unchanged since they were built: left out")
        selected = _selected_unique_ids(context)
        if selected is not None and dbt_state.all_left_out(manifest, selected, unchanged):
            # A step of only unchanged views (analyst views over app tables): dbt would start, parse and build nothing.
            context.log.info("Everything this step selects is unchanged since it was built: dbt not run")
            return
        # This warehouse's partial parse (the shared one in target/ may be another warehouse's, and a
        # parse for another database is a full re-parse: 7 to 20 s on two cores).
        target_path = (
            dbt_project().project_dir / "target" / f"{name}-{context.run_id[:8]}-{uuid.uuid4().hex[:8]}"
        )
        dbt_state.seed_partial_parse(warehouse.get_url(), target_path)
        invocation = dbt.cli(
            ["build", *dbt_state.exclude_args(manifest, unchanged)],
            context=context,
            target_path=target_path,
        )
        log_path = dbt_log_path(name)
        context.log.info(f"dbt's full output: {log_path}")
        try:
            with compact_dbt_output(log_path):
                yield from _with_row_counts(invocation.stream(), manifest, warehouse.get_url())
        finally:  # a failed build still built some views: remember those, forget the failed ones
            results_file = invocation.target_path / "run_results.json"
            if results_file.exists():
                run_results = json.loads(results_file.read_text())
                dbt_state.record_built(warehouse.get_url(), fingerprints, run_results)
        dbt_state.keep_partial_parse(warehouse.get_url(), invocation.target_path)
        failures = failing_tests(
            warehouse.get_url(),
            invocation.get_artifact("run_results.json"),
            invocation.get_artifact("manifest.json"),
        )
        if failures:
            context.log.warning(
                "dbt data tests failed (the marts were built; these rows need a look):\n"
                + "\n".join(f.describe() for f in failures)
            )
        # dagster-dbt gives each invocation a target dir of its own (manifest, compiled SQL: ~8 MB) and
        # never removes it: a year of daily runs would fill gigabytes. A failed build never gets here,
        # so its dir stays for its compiled SQL.
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    return _models


def _selected_unique_ids(context: dg.AssetExecutionContext) -> set[str] | None:
    """The dbt unique_ids of the assets and checks this step runs; None when it runs them all."""
    if not context.is_subset:
        return None
    assets_def = context.assets_def
    return {
        assets_def.get_asset_spec(key).metadata[DAGSTER_DBT_UNIQUE_ID_METADATA_KEY]
        for key in context.selected_asset_keys
    } | {
        (assets_def.get_spec_for_check_key(key).metadata or {}).get(DAGSTER_DBT_UNIQUE_ID_METADATA_KEY, "")
        for key in context.selected_asset_check_keys
    }


def _with_row_counts(events: Iterator[Any], manifest: Mapping[str, Any], url: str) -> Iterator[Any]:
    """Each built table's row count as ``dagster/row_count``. Not dagster-dbt's ``fetch_row_counts()``:
    its result loop polls futures without waiting, and kept a whole core busy while dbt ran."""
    for event in events:
        unique_id = (
            event.metadata.get("unique_id")
            if isinstance(event, dg.Output | dg.AssetMaterialization)
            else None
        )
        if unique_id is not None:
            try:
                counts = dbt_state.row_counts_of_built(url, manifest, [unique_id.value])
            except psycopg.Error:  # metadata only: never fail a build over a count
                counts = {}
            if counts:
                event = event.with_metadata({**event.metadata, "dagster/row_count": counts[unique_id.value]})
        yield event


def build_dbt_assets() -> list[dg.AssetsDefinition]:
    daily = _dbt_models("adsignal_dbt_models", daily_partitions, exclude=HOURLY_MODELS)
    try:
        hourly = _dbt_models("adsignal_dbt_hourly_models", intraday_partitions, select=HOURLY_MODELS)
    except Exception:  # no hourly models in this manifest (dagster-dbt refuses an empty selection)
        return [daily]
    return [daily, hourly]


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=executable("dbt"))
