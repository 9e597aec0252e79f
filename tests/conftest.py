"""Shared fixtures: real PostgreSQL databases.

The server is the embedded one (pgserver) unless DATABASE_URL is set; either way tests get
databases of their own (``adsignal_test_<pid>[_<purpose>]``), migrated to head and dropped
afterwards. Modules whose assertions cover whole tables (end-to-end runs) take a private database
so rows other modules loaded cannot leak into their sums.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import psycopg
import pytest

from pipeline.warehouse import db, dbt_state, migrate
from tests.dbt_cli import TESTS_DBT_STATE_DIR


def pytest_configure(config: pytest.Config) -> None:
    """The code location reads the dbt manifest at import (as in production, where it is prepared before
    Dagster loads); test modules import defs at collection, so a fresh clone parses the project first."""
    from pipeline.dbt_manifest import prepare_manifest

    prepare_manifest()


# The longest modules, longest first (measured with --durations, 2026-12-07): under ``make test``'s
# processes each worker starts one of them, and no worker is left alone with one at the end.
LONGEST_MODULES = (
    "test_pipeline",
    "test_own_data",
    "test_dbt_models",
    "test_alerts_backtest",
    "test_dbt_state",
    "test_fault_matrix_marts",
    "test_fault_matrix",
    "test_dead_runs",
    "test_import_rebuilds",
    "test_bench_alerts",
    "test_alerts_history",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first, then the other modules with end-to-end runs, then the quick ones
    that fill the gaps at the end; each module keeps its own order (the Makefile tells pytest-xdist
    to keep this order: by default it hands out the modules with the most tests first)."""
    slow_modules = {item.module for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1]
        if name in LONGEST_MODULES:
            return LONGEST_MODULES.index(name)
        return len(LONGEST_MODULES) + (item.module not in slow_modules)

    items.sort(key=rank)


def _admin_url() -> str:
    return os.environ.get("DATABASE_URL") or db._start_embedded(db.settings().data_dir / "pg")


@pytest.fixture(scope="session")
def database_factory() -> Iterator[Callable[[str], str]]:
    """``create(purpose)`` → URL of a fresh, migrated database dropped at the end of the session."""
    admin_url = _admin_url()
    created: dict[str, str] = {}

    def create(purpose: str) -> str:
        name = f"adsignal_test_{os.getpid()}" + (f"_{purpose}" if purpose else "")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
        url = db.ensure_database(admin_url, name)
        migrate.upgrade(url)
        created[name] = url
        return url

    yield create
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, url in created.items():
            conn.execute(f'drop database if exists "{name}" with (force)')
            # the dbt state kept per warehouse (a partial parse is 2 MB; every session's names are new)
            dbt_state.forget(url)
            dbt_state.forget(url, TESTS_DBT_STATE_DIR)


@pytest.fixture(scope="session")
def warehouse_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("")


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection for assertions."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn
