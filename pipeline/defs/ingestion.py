"""Raw assets: one per platform stream, generated from the connector registry.

Windowed streams (insights) are daily-partitioned and run a range of days in one run; entity
snapshots are unpartitioned and replaced whole per account.
"""

import dagster as dg

from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import Connector, RawStream
from pipeline.connectors.http import CredentialsError
from pipeline.defs.partitions import daily_partitions, partition_window, single_run_backfill
from pipeline.defs.resources import PlatformsResource, WarehouseResource
from pipeline.ingest import SyncReport, sync_stream

# Transient API trouble the connector could not absorb: try the whole sync again a little later.
SYNC_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


def raw_asset_key(stream: RawStream) -> dg.AssetKey:
    return dg.AssetKey(["raw", stream.table])


def _spec(stream: RawStream) -> dict[str, object]:
    return {
        "key": raw_asset_key(stream),
        "description": stream.description or f"{stream.platform} {stream.name}, payload verbatim.",
        "group_name": f"raw_{stream.platform}",
        "kinds": {"python", "postgres"},
        "metadata": {
            "dagster/table_name": f"raw.{stream.table}",
            "natural_key": ", ".join(stream.key_names),
            "window_column": stream.window_column or "(snapshot per account)",
        },
    }


def _run_sync(connector: Connector, **kwargs: object) -> SyncReport:
    """Run a sync; a credentials problem fails the step without retries (a retry cannot fix it)."""
    try:
        return sync_stream(connector=connector, **kwargs)  # type: ignore[arg-type]
    except CredentialsError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def _materialize_result(stream: RawStream, report: SyncReport) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        asset_key=raw_asset_key(stream),
        metadata={
            "dagster/row_count": report.rows_loaded,
            **{
                k: (dg.MetadataValue.json(v) if isinstance(v, dict) else v)
                for k, v in report.summary().items()
            },
        },
    )


def _windowed_asset(stream: RawStream) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=daily_partitions,
        backfill_policy=single_run_backfill,
        retry_policy=SYNC_RETRY,
        pool=f"{stream.platform}_api",
        **_spec(stream),  # type: ignore[arg-type]
    )
    def _sync(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, platforms: PlatformsResource
    ) -> dg.MaterializeResult:
        since, until = partition_window(context)
        connector = platforms.open(stream.platform)
        try:
            report = _run_sync(
                connector,
                url=warehouse.get_url(),
                stream_name=stream.name,
                since=since,
                until=until,
                run_id=context.run_id,
            )
        finally:
            connector.close()
        context.log.info(f"{stream.table} {since}..{until}: {report.summary()}")
        return _materialize_result(stream, report)

    return _sync


def _snapshot_assets(platform: str, streams: list[RawStream]) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"{platform}_entities",
        specs=[dg.AssetSpec(**_spec(s)) for s in streams],  # type: ignore[arg-type]
        retry_policy=SYNC_RETRY,
        pool=f"{platform}_api",
    )
    def _sync(context: dg.AssetExecutionContext, warehouse: WarehouseResource, platforms: PlatformsResource):
        connector = platforms.open(platform)
        try:
            for stream in streams:
                report = _run_sync(
                    connector, url=warehouse.get_url(), stream_name=stream.name, run_id=context.run_id
                )
                yield _materialize_result(stream, report)
        finally:
            connector.close()

    return _sync


def raw_assets() -> list[dg.AssetsDefinition]:
    assets: list[dg.AssetsDefinition] = []
    for platform, connector_cls in CONNECTORS.items():
        streams = list(connector_cls.streams.values())
        snapshots = [s for s in streams if s.window_column is None]
        if snapshots:
            assets.append(_snapshot_assets(platform, snapshots))
        assets.extend(_windowed_asset(s) for s in streams if s.window_column)
    return assets
