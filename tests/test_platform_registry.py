"""The platform registry agrees with everything that lists platforms: dbt, the raw tables, Dagster, the sandbox."""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey
from starlette.applications import Starlette

from pipeline.connectors import CONNECTORS
from pipeline.connectors.base import CampaignWriter
from pipeline.platforms import (
    DBT_STAGING_MODELS_ENV,
    PLATFORM_NAMES,
    PLATFORMS,
    REQUIRED_STAGING_ENTITIES,
    STAGING_ENTITIES,
    Capability,
    platform_aliases,
    platform_spec,
)
from pipeline.sandbox.router_protocol import SandboxRouter
from pipeline.sandbox.server import ROUTERS, SANDBOX_TOKENS, FaultInjector, default_tokens
from pipeline.sandbox.simulator import PLATFORMS as SIMULATED_PLATFORMS
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.warehouse.db import dbt_env

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"


def _sources(platform: str) -> dict:
    path = DBT_PROJECT / "models" / "staging" / platform / f"_{platform}__sources.yml"
    (source,) = [s for s in yaml.safe_load(path.read_text())["sources"] if s["name"] == platform]
    return source


def test_every_platform_list_is_the_registry():
    assert list(CONNECTORS) == list(ROUTERS) == list(SANDBOX_TOKENS) == list(PLATFORM_NAMES)
    assert SIMULATED_PLATFORMS == PLATFORM_NAMES
    assert len(set(PLATFORM_NAMES)) == len(PLATFORMS)
    assert not set(platform_aliases()) & set(PLATFORM_NAMES), "an alias may not shadow a platform"


def test_dbt_reads_the_registrys_staging_models():
    """dbt gets them from the registry (dbt_env); dbt_project.yml names no platform."""
    assert json.loads(dbt_env("postgresql://localhost/x")[DBT_STAGING_MODELS_ENV]) == {
        spec.name: dict(spec.staging) for spec in PLATFORMS
    }
    project_vars = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    assert "platform_staging_models" not in project_vars
    assert not set(project_vars["file_staging_models"]) & set(PLATFORM_NAMES)
    for spec in PLATFORMS:
        assert set(REQUIRED_STAGING_ENTITIES) <= set(spec.staging) <= set(STAGING_ENTITIES)
        for model in spec.staging.values():
            assert (DBT_PROJECT / "models" / "staging" / spec.name / f"{model}.sql").exists(), model


def test_the_unions_read_every_platforms_staging_models():
    """The parsed project (what Dagster loads) has each union depend on each platform's model."""
    from pipeline.defs.transform import dbt_manifest_path

    nodes = json.loads(dbt_manifest_path().read_text())["nodes"]
    unions = {"ad_accounts": "int_ad_accounts__unioned", "campaigns": "int_campaigns__unioned",
              "ad_performance_daily": "int_ad_performance_daily__unioned"}  # fmt: skip
    for entity, union in unions.items():
        (node,) = [n for n in nodes.values() if n["name"] == union]
        read = {parent.rsplit(".", 1)[-1] for parent in node["depends_on"]["nodes"]}
        assert {spec.staging[entity] for spec in PLATFORMS} <= read, union


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_dbt_sources_are_the_connectors_raw_tables(platform):
    identifiers = {table["identifier"] for table in _sources(platform)["tables"]}
    streams = {stream.table for stream in platform_spec(platform).connector_class().streams.values()}
    assert identifiers == streams


def test_dbt_reads_exactly_the_raw_assets_ingestion_writes():
    """The translator derives each dbt source's key: the staging models depend on the ingestion assets."""
    from pipeline.definitions import defs
    from pipeline.defs.ingestion import raw_assets

    graph = defs.resolve_asset_graph()
    written = {key for assets in raw_assets() for key in assets.keys}
    read_by_dbt = {
        parent
        for key in graph.get_all_asset_keys()
        if key.path[0] != "raw"
        for parent in graph.get(key).parent_keys
        if parent.path[0] == "raw"
    }
    csv_tables = {AssetKey(["raw", t["identifier"]]) for t in _sources("csv")["tables"]}
    sync_log = AssetKey(["raw", "sync_runs"])  # signal health reads the loader's log too
    events = AssetKey(["raw", "cdp_events"])  # first-party events: the CLI and the collector write them
    assert read_by_dbt - csv_tables - {sync_log, events} == written


def test_dagster_raw_assets_are_the_connectors_streams():
    from pipeline.defs.ingestion import raw_assets

    keys = {key.to_user_string() for assets in raw_assets() for key in assets.keys}
    streams = {f"raw/{s.table}" for cls in CONNECTORS.values() for s in cls.streams.values()}
    assert keys == streams


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_the_daily_performance_stream_is_ads_insights_daily(platform):
    """Signal health finds a connector's daily syncs in raw.sync_runs by this name (an index probe)."""
    streams = platform_spec(platform).connector_class().streams.values()
    daily = [s.name for s in streams if s.window_column and not s.is_hourly]
    assert daily == ["ads_insights_daily"]


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_sandbox_router_contract(platform):
    router = platform_spec(platform).router_module()
    assert isinstance(router, SandboxRouter)  # pipeline.sandbox.router_protocol
    assert platform == router.PLATFORM
    assert callable(router.router_factory)
    assert isinstance(router.FAULT_KINDS, frozenset) and router.FAULT_KINDS
    world = World(default_scenario(today=date(2026, 11, 20)))
    app = router.router_factory(world, FaultInjector(), default_tokens())
    assert isinstance(app, Starlette) and app.state.api is not None  # tests reach its state this way
    assert isinstance(router.REPORT_PATH, str) and router.REPORT_PATH  # where mid-sync faults aim


def test_the_simulated_world_serves_accounts_on_every_platform():
    world = World(default_scenario(today=date(2026, 11, 20)))
    for platform in PLATFORM_NAMES:
        assert world.accounts(platform), platform


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_campaign_writes_are_declared_and_implemented(platform):
    spec = platform_spec(platform)
    cls = spec.connector_class()
    implements = all(
        callable(getattr(cls, m, None)) for m in ("campaign_state", "update_arguments", "update_campaign")
    )
    assert implements == spec.can(Capability.WRITE_CAMPAIGNS)
    if implements:
        assert issubclass(cls, CampaignWriter)


def test_unknown_platform_names_the_known_ones():
    with pytest.raises(KeyError, match="known: meta"):
        platform_spec("myspace")


# Benchmarks pick platforms for their scenarios as data; they are not the product's code paths.
_NAME_CHECK_EXEMPT = ("pipeline/platforms.py", "pipeline/bench/")
# The same word meaning something else there.
_HOMONYMS: set[tuple[str, str]] = set()


def test_platform_names_appear_only_in_their_own_modules():
    """Outside the registry, a platform's name (as a string in code) is only in its connector and router."""
    root = Path(__file__).resolve().parents[1]
    names = set(PLATFORM_NAMES)
    misplaced = []
    for path in sorted((root / "pipeline").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(_NAME_CHECK_EXEMPT):
            continue
        own = {
            name
            for name in names
            if relative in (f"pipeline/connectors/{name}.py", f"pipeline/sandbox/{name}_api.py")
        }
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and node.value in names - own
                and (relative, node.value) not in _HOMONYMS
            ):
                misplaced.append(f"{relative}:{node.lineno} {node.value!r}")
    assert not misplaced, "platform names outside the registry and their own modules:\n" + "\n".join(
        misplaced
    )
