"""dbt test failures split by tenant, platform and account (pipeline/warehouse/test_failures.py).

The stored-failures views are built here as dbt stores them (a view of the failing rows in the
test's schema), and the run results and manifest are the few fields dbt writes that the module reads:
the splitting and naming is what is tested, on real PostgreSQL, without a dbt run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pipeline.warehouse.test_failures import failing_tests

SCHEMA = "test_failures_probe"


@pytest.fixture
def stored_failures(warehouse: psycopg.Connection) -> Iterator[psycopg.Connection]:
    warehouse.execute(f"drop schema if exists {SCHEMA} cascade")
    warehouse.execute(f"create schema {SCHEMA}")
    yield warehouse
    warehouse.execute(f"drop schema if exists {SCHEMA} cascade")


def _artifacts(tests: dict[str, str | None]) -> tuple[dict[str, Any], dict[str, Any]]:
    """run_results and manifest for warning tests named after their stored view (None: no view)."""
    run_results = {
        "results": [{"unique_id": f"test.adsignal.{name}", "status": "warn", "failures": 3} for name in tests]
    }
    manifest = {
        "nodes": {
            "model.adsignal.stg_meta__ad_insights": {"name": "stg_meta__ad_insights"},
            **{
                f"test.adsignal.{name}": {
                    "name": name,
                    "attached_node": "model.adsignal.stg_meta__ad_insights",
                    "relation_name": f'"db"."{SCHEMA}"."{view}"' if view else None,
                }
                for name, view in tests.items()
            },
        }
    }
    return run_results, manifest


def test_two_tenants_sharing_an_account_id_are_counted_apart(
    stored_failures: psycopg.Connection, warehouse_url: str
) -> None:
    stored_failures.execute(
        f"create view {SCHEMA}.column_rules_probe as"
        " select * from (values"
        " ('default', 'meta', '111', 'spend is null'),"
        " ('acme', 'meta', '111', 'spend is null'),"
        " ('acme', 'meta', '111', 'spend is null'),"
        " ('acme', 'meta', '111', 'clicks is negative')"
        ") rows (tenant_id, platform, account_id, failed_rules)"
    )
    failures = failing_tests(warehouse_url, *_artifacts({"column_rules_probe": "column_rules_probe"}))
    assert [(f.tenant_id, f.platform, f.account_id, f.rules, f.rows) for f in failures] == [
        ("acme", "meta", "111", "clicks is negative", 1),
        ("acme", "meta", "111", "spend is null", 2),
        ("default", "meta", "111", "spend is null", 1),
    ]
    described = [f.describe() for f in failures]
    assert "meta account acme/111: 2 rows (spend is null)" in described[1]
    assert "meta account 111: 1 row (spend is null)" in described[2]  # the default tenant: as before


def test_rows_without_a_tenant_column_keep_platform_and_account(
    stored_failures: psycopg.Connection, warehouse_url: str
) -> None:
    stored_failures.execute(
        f"create view {SCHEMA}.grain_probe as"
        " select * from (values ('42', 5), ('42', 6)) rows (account_id, date_day)"
    )
    failures = failing_tests(
        warehouse_url, *_artifacts({"grain_probe": "grain_probe", "errored_probe": None})
    )
    assert [(f.test, f.tenant_id, f.platform, f.account_id, f.rows) for f in failures] == [
        ("grain_probe", None, "meta", "42", 2),  # the platform from the tested model's name
        ("errored_probe", None, "meta", None, 3),  # no stored rows: dbt's own count
    ]
    assert failures[0].describe().endswith("meta account 42: 2 rows")
