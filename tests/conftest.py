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

from pipeline.warehouse import db, migrate


def pytest_configure(config: pytest.Config) -> None:
    """The code location reads the dbt manifest at import (as in production, where it is prepared before
    Dagster loads); test modules import defs at collection, so a fresh clone parses the project first."""
    from pipeline.dbt_manifest import prepare_manifest

    prepare_manifest()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with end-to-end runs first (each keeps its own order): under ``make test``'s two
    processes the long modules start at once and the quick ones fill the gaps at the end."""
    slow_modules = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in slow_modules)


def _admin_url() -> str:
    return os.environ.get("DATABASE_URL") or db._start_embedded(db.settings().data_dir / "pg")


@pytest.fixture(scope="session")
def database_factory() -> Iterator[Callable[[str], str]]:
    """``create(purpose)`` → URL of a fresh, migrated database dropped at the end of the session."""
    admin_url = _admin_url()
    created: list[str] = []

    def create(purpose: str) -> str:
        name = f"adsignal_test_{os.getpid()}" + (f"_{purpose}" if purpose else "")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
        url = db.ensure_database(admin_url, name)
        migrate.upgrade(url)
        created.append(name)
        return url

    yield create
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def warehouse_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("")


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection for assertions."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn
