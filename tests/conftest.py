"""Shared fixtures: a real PostgreSQL database per test session.

The server is the embedded one (pgserver) unless DATABASE_URL is set; either way the tests get a
database of their own (``adsignal_test_<pid>``), migrated to head, and dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from pipeline.warehouse import db, migrate


@pytest.fixture(scope="session")
def warehouse_url() -> Iterator[str]:
    admin_url = os.environ.get("DATABASE_URL") or db._start_embedded(db.settings().data_dir / "pg")
    name = f"adsignal_test_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    url = db.ensure_database(admin_url, name)
    migrate.upgrade(url)
    yield url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection for assertions."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn
