"""Which platforms, accounts and rows a dbt run's failing data tests are about.

In the pipeline dbt's data tests warn instead of failing (var ``data_test_severity``), so one
platform's broken rows never skip the marts and decisions of the others. Each test stores its
failing rows as a view (``store_failures_as: view`` in dbt_project.yml); this module reads those
views and says, per test, which (tenant, platform, account) holds how many failing rows. Two
tenants may share an account id: their rows are counted apart, and another tenant's account is named
``acme/111`` (the default tenant's plain ``111``), as the data-health checks name it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pipeline.config import DEFAULT_TENANT
from pipeline.platforms import PLATFORM_NAMES

# A platform's own models name it: stg_<platform>__<entity> (staging) and int_<platform>__<entity>_joined
# (its joins over staging); the cross-platform int_<entity>__unioned names no platform.
_PLATFORM_MODEL = re.compile(r"^(?:stg|int)_(?P<platform>[a-z0-9_]+?)__")
_FAILED = ("fail", "warn", "error")


@dataclass(frozen=True)
class TestFailure:
    test: str  # the dbt test's name
    model: str | None  # the model it tests
    platform: str  # "all platforms" when neither the rows nor the model say
    account_id: str | None
    rows: int  # failing rows (or failing keys, for grain tests) of this platform and account
    status: str  # dbt's: warn, fail or error
    rules: str | None = None  # the rules those rows break, for a column_rules test ("spend is null; ...")
    tenant_id: str | None = None  # None when the rows do not say

    def describe(self) -> str:
        tenant = f"{self.tenant_id}/" if self.tenant_id not in (None, DEFAULT_TENANT) else ""
        account = f" account {tenant}{self.account_id}" if self.account_id is not None else ""
        rows = f"{self.rows} row{'s' if self.rows != 1 else ''}"
        rules = f" ({self.rules})" if self.rules else ""
        return f"{self.test} ({self.status}) on {self.model or 'several models'}: {self.platform}{account}: {rows}{rules}"


def _tested_model(node: Mapping[str, Any], manifest: Mapping[str, Any]) -> str | None:
    attached = node.get("attached_node") or next(
        (n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("model.")), None
    )
    return manifest["nodes"].get(attached, {}).get("name") if attached else None


def _model_platform(model: str | None) -> str | None:
    match = _PLATFORM_MODEL.match(model or "")
    return match["platform"] if match and match["platform"] in PLATFORM_NAMES else None


def failing_tests(url: str, run_results: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[TestFailure]:
    """Every failing or warning data test of the run, split by the platform and account of its rows."""
    failures: list[TestFailure] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for result in run_results.get("results", []):
            unique_id = result.get("unique_id", "")
            if not unique_id.startswith("test.") or result.get("status") not in _FAILED:
                continue
            node = manifest["nodes"].get(unique_id, {})
            name = node.get("name", unique_id)
            model = _tested_model(node, manifest)
            status = result["status"]
            groups = _failing_rows_by_account(conn, node.get("relation_name"))
            if not groups:
                rows = int(result.get("failures") or 0)
                failures.append(
                    TestFailure(name, model, _model_platform(model) or "all platforms", None, rows, status)
                )
                continue
            for tenant_id, platform, account_id, rules, rows in groups:
                platform = platform or _model_platform(model) or "all platforms"
                failures.append(
                    TestFailure(name, model, platform, account_id, rows, status, rules, tenant_id)
                )
    return failures


def _failing_rows_by_account(
    conn: psycopg.Connection, relation_name: str | None
) -> list[tuple[str | None, str | None, str | None, str | None, int]]:
    """(tenant, platform, account, rules broken, rows) of a test's stored failures; empty when they name
    no account. The rules come from a column_rules test's ``failed_rules`` (None for other tests)."""
    if not relation_name:
        return []
    parts = [part.strip('"') for part in relation_name.split(".")]
    relation = sql.SQL(".").join(sql.Identifier(p) for p in parts[-2:])
    try:
        cursor = conn.execute(sql.SQL("select * from {} limit 0").format(relation))
    except psycopg.Error:  # the test errored before storing anything
        return []
    columns = {column.name for column in cursor.description or []}
    if "account_id" not in columns:
        return []

    def column_or_null(name: str) -> sql.Composable:
        return sql.Identifier(name) if name in columns else sql.SQL("null::text")

    return conn.execute(
        sql.SQL(
            "select {tenant}::text as tenant_id, {platform} as platform, account_id::text,"
            " {rules} as rules, count(*) from {relation}"
            " group by 1, 2, 3, 4 order by 1 nulls first, 2 nulls first, 3 nulls first, 4 nulls first"
        ).format(
            tenant=column_or_null("tenant_id"),
            platform=column_or_null("platform"),
            rules=column_or_null("failed_rules"),
            relation=relation,
        )
    ).fetchall()
