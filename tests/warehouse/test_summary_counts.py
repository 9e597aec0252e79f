"""The demo's rows-per-table summary counts a monthly-partitioned table once, not once per month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from pipeline.warehouse.partitions import ensure_month_partitions
from pipeline.warehouse.summary_store import table_row_counts

TABLE = "summary_counts_probe"


@pytest.fixture
def partitioned(warehouse: psycopg.Connection) -> Iterator[psycopg.Connection]:
    warehouse.execute(f"drop table if exists raw.{TABLE}")
    warehouse.execute(f"create table raw.{TABLE} (day date not null) partition by range (day)")
    ensure_month_partitions(warehouse, "raw", TABLE, date(2026, 10, 30), date(2026, 11, 2))
    warehouse.execute(
        f"insert into raw.{TABLE} select generate_series('2026-10-30'::date, '2026-11-02', '1 day')"
    )
    yield warehouse
    warehouse.execute(f"drop table raw.{TABLE}")


def test_a_partitioned_table_is_one_row_with_every_months_rows(partitioned: psycopg.Connection) -> None:
    counts = [(schema, name, rows) for schema, name, rows in table_row_counts(partitioned) if TABLE in name]
    assert counts == [("raw", TABLE, 4)]  # two months' partitions, not listed on their own
