"""Tenants reach the raw layer: sync bookkeeping and quarantine name the tenant of their rows.

The raw tables themselves are created from the connectors' declarations (``ensure_raw_table``), which
adds ``tenant_id`` to a table created before this revision and leads its primary key with it. Rows
written before tenants belong to the default tenant.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("sync_runs", "quarantine"):
        op.execute(f"alter table raw.{table} add column tenant_id text not null default 'default'")
    op.execute("create index sync_runs_by_tenant on raw.sync_runs (tenant_id, platform, account_id)")


def downgrade() -> None:
    op.execute("drop index if exists raw.sync_runs_by_tenant")
    for table in ("sync_runs", "quarantine"):
        op.execute(f"alter table raw.{table} drop column tenant_id")
