"""Per platform, one run with all its faults combined leaves every mart as a clean run does.

A clean sync of every platform, one dbt build (full refresh of the two-day window), every mart
read; then every platform's raw tables emptied and synced again with all of its request faults of
the matrix (tests/test_fault_matrix.py) pending at once, re-run until the sync succeeds, a second
dbt build, every mart read again. Compared per platform (rows of marts with a platform column) and
whole. Two dbt builds in all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pipeline.dbt_manifest import prepare_manifest
from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from pipeline.warehouse.db import dbt_window_env
from tests.dbt_cli import dbt_ok
from tests.test_fault_matrix import NOON, PLATFORMS, TODAY, WINDOW, faults_of, sync, wipe

pytestmark = pytest.mark.slow

MAX_ATTEMPTS = 8  # a platform's faults all pending: each failed attempt uses some of them up
# Columns describing when rows were loaded or scored, not the data: they differ between any two runs.
RUN_COLUMNS = {"_extracted_at", "as_of_at", "last_synced_at", "day_synced_at", "hours_since_last_sync"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    world = World(default_scenario(today=TODAY, history_days=5))
    world.now = NOON
    with SandboxServer(world) as server:
        yield server


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    url = database_factory("fault_matrix_marts")
    prepare_manifest(url)
    return url


def dbt_build(url: str, workdir: Path) -> None:
    # hourly data is the intraday job's; the daily run syncs none
    dbt_ok(url, workdir, "build", "--full-refresh", "--exclude", "*hourly*", env=dbt_window_env(*WINDOW))


def marts(url: str) -> dict[tuple[str, str | None], tuple]:
    """(mart, platform or None for the whole table) -> row count and a digest of its rows."""
    snapshot: dict[tuple[str, str | None], tuple] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            """select table_name, array_agg(column_name::text order by ordinal_position)
               from information_schema.columns where table_schema = 'marts'
               group by table_name order by table_name"""
        ).fetchall()
        for table, columns in tables:
            kept = [c for c in columns if c not in RUN_COLUMNS]
            row = sql.SQL("concat_ws('|', {})").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in kept)
            )
            query = sql.SQL(
                "select count(*), md5(coalesce(string_agg(r, ',' order by r), '')) from"
                " (select {row} as r from marts.{table} where {filter}) rows"
            )
            scopes: list[str | None] = [None] + (list(PLATFORMS) if "platform" in columns else [])
            for platform in scopes:
                where = sql.SQL("platform = {}").format(platform) if platform else sql.SQL("true")
                snapshot[(table, platform)] = conn.execute(
                    query.format(row=row, table=sql.Identifier(table), filter=where)
                ).fetchone()
    return snapshot


@pytest.fixture(scope="module")
def clean_marts(url: str, sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    for platform in PLATFORMS:
        assert sync(url, sandbox, platform) is None
    dbt_build(url, tmp_path_factory.mktemp("dbt_clean"))
    return marts(url)


@pytest.fixture(scope="module")
def faulted_marts(
    clean_marts: dict, url: str, sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    for platform in PLATFORMS:
        wipe(url, platform)
        for faults in faults_of(platform).values():
            for fault in faults:
                sandbox.faults.add(
                    platform,
                    fault.kind,
                    path=fault.path,
                    times=fault.times,
                    skip=fault.skip,
                    **dict(fault.params),
                )
        try:
            errors = []
            for _ in range(MAX_ATTEMPTS):
                error = sync(url, sandbox, platform)
                if error is None:
                    break
                errors.append(error)
            unused = [f.kind for f in sandbox.faults.pending(platform)]
        finally:
            sandbox.faults.clear()
        assert error is None, f"{platform} never synced with its faults: {errors}"
        assert unused == [], f"{platform}: faults never hit: {unused}"
    dbt_build(url, tmp_path_factory.mktemp("dbt_faulted"))
    return marts(url)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_platforms_combined_faults_leave_its_marts_as_a_clean_run(
    platform: str, clean_marts: dict, faulted_marts: dict
) -> None:
    mine = [key for key in clean_marts if key[1] == platform]
    assert mine and all(clean_marts[key][0] for key in mine if key[0].startswith("fct_ad_"))
    assert {key: faulted_marts[key] for key in mine} == {key: clean_marts[key] for key in mine}


def test_every_mart_equals_the_clean_run(clean_marts: dict, faulted_marts: dict) -> None:
    assert faulted_marts == clean_marts
