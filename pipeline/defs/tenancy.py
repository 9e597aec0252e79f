"""Decisions run once per tenant: which tenants a run serves, and one asset's metadata over several.

Every decision asset (alerts, rules, allocation, recommendations) reads only one tenant's marts and
writes only that tenant's rows, in a loop over the active tenants: two tenants holding the same
account ids never see each other's numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import psycopg

from pipeline.config import DEFAULT_TENANT
from pipeline.warehouse.access_store import list_tenants


def active_tenant_ids(conn: psycopg.Connection) -> list[str]:
    """The tenants decisions run for, the default tenant first (disabled ones are skipped)."""
    tenants = [t.tenant_id for t in list_tenants(conn) if t.status == "active"]
    return sorted(tenants, key=lambda tenant: (tenant != DEFAULT_TENANT, tenant))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, dg.MetadataValue) else value


def per_tenant_metadata(by_tenant: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One tenant: its metadata as it is. Several: counts summed over tenants (``dagster/row_count``
    included; ids are not counts), and every tenant's own metadata under ``by_tenant``."""
    if len(by_tenant) == 1:
        return dict(next(iter(by_tenant.values())))
    keys = {key for metadata in by_tenant.values() for key in metadata}
    summed = {
        key: sum(metadata.get(key, 0) for metadata in by_tenant.values())
        for key in sorted(keys)
        if not key.endswith("_id")
        and all(type(metadata.get(key, 0)) is int for metadata in by_tenant.values())
    }
    return {
        **summed,
        "tenants": dg.MetadataValue.json(list(by_tenant)),
        "by_tenant": dg.MetadataValue.json(
            {tenant: {k: _plain(v) for k, v in metadata.items()} for tenant, metadata in by_tenant.items()}
        ),
    }
