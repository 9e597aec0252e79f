"""Raw assets: generated from the connector registry, one per platform stream.

Daily streams are partitioned by day and a run syncs a range of days at once; hourly streams use
the intraday partitions (today included); entity snapshots are unpartitioned and replaced whole per
account. Each platform has its own pool so its API is never hit by two runs at once.
"""

import dagster as dg

from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import RawStream
from pipeline.connectors.http import CredentialsError
from pipeline.defs.partitions import (
    daily_partitions,
    intraday_partitions,
    partition_window,
    single_run_backfill,
)
from pipeline.defs.resources import PlatformsResource, WarehouseResource
from pipeline.ingest import SyncFailed, SyncReport, sync_connections

# Transient API trouble the connector could not absorb: try the whole sync again a little later.
SYNC_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


def raw_asset_key(stream: RawStream) -> dg.AssetKey:
    return dg.AssetKey(["raw", stream.table])


def platform_pool(platform: str) -> str:
    return f"{platform}_api"


def _spec(stream: RawStream) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=raw_asset_key(stream),
        description=stream.description or f"{stream.platform} {stream.name}, payload verbatim.",
        group_name=f"raw_{stream.platform}",
        kinds={"python", "postgres"},
        tags={"platform": stream.platform, "grain": "hourly" if stream.is_hourly else "daily"},
        metadata={
            "dagster/table_name": f"raw.{stream.table}",
            "natural_key": ", ".join(stream.key_names),
            "window_column": stream.window_column or "(snapshot per account)",
        },
    )


def _result(stream: RawStream, report: SyncReport) -> dg.MaterializeResult:
    summary = report.summary()
    return dg.MaterializeResult(
        asset_key=raw_asset_key(stream),
        metadata={
            "dagster/row_count": report.rows_loaded,
            **{k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in summary.items()},
        },
    )


def _sync(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    platforms: PlatformsResource,
    platform: str,
    streams: list[RawStream],
    windowed: bool,
) -> list[dg.MaterializeResult]:
    url = warehouse.get_url()
    since, until = partition_window(context) if windowed else (None, None)
    try:
        reports = sync_connections(
            url,
            platforms.connections(platform, url),
            [s.name for s in streams],
            since=since,
            until=until,
            run_id=context.run_id,
        )
    except CredentialsError as exc:
        # A retry cannot fix credentials: fail now, with the message that says what to do.
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    except SyncFailed as exc:
        # Every other connection loaded and stays loaded; a retry re-syncs them idempotently, so
        # it is only refused when credentials alone failed.
        raise dg.Failure(description=str(exc), allow_retries=exc.retryable) from None
    for stream in streams:
        context.log.info(f"{stream.table} {since or ''}..{until or ''}: {reports[stream.name].summary()}")
    return [_result(stream, reports[stream.name]) for stream in streams]


def _platform_assets(platform: str, streams: list[RawStream], kind: str) -> dg.AssetsDefinition:
    windowed = kind != "entities"

    @dg.multi_asset(
        name=f"{platform}_{kind}",
        specs=[_spec(s) for s in streams],
        partitions_def={"daily": daily_partitions, "hourly": intraday_partitions}.get(kind),
        backfill_policy=single_run_backfill if windowed else None,
        retry_policy=SYNC_RETRY,
        pool=platform_pool(platform),
    )
    def _assets(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, platforms: PlatformsResource
    ):
        yield from _sync(context, warehouse, platforms, platform, streams, windowed)

    return _assets


def raw_assets() -> list[dg.AssetsDefinition]:
    """Per platform: entity snapshots, daily streams and hourly streams (each one step)."""
    assets: list[dg.AssetsDefinition] = []
    for platform, connector_cls in CONNECTORS.items():
        streams: list[RawStream] = list(connector_cls.streams.values())
        groups = {
            "entities": [s for s in streams if s.window_column is None],
            "daily": [s for s in streams if s.window_column and not s.is_hourly],
            "hourly": [s for s in streams if s.window_column and s.is_hourly],
        }
        assets += [_platform_assets(platform, group, kind) for kind, group in groups.items() if group]
    return assets
