"""Tenants reach the marts: marts built before every mart row carried its tenant are dropped.

dbt now gives every mart but ``fx_rates_daily`` a ``tenant_id`` column that leads its grain. The
incremental marts refuse a changed schema (``on_schema_change='fail'``), so a warehouse built before
would stop at its next run. Dropping such a mart lets that run build it again from the raw tables,
which already carry the tenant (a full refresh yields the same rows as incremental runs); the analyst
views on it go with it (``cascade``) and are rebuilt by the same run. A fresh warehouse has no marts
yet and nothing happens.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        do $$
        declare
            mart record;
        begin
            for mart in
                select t.schemaname, t.tablename from pg_tables t
                where t.schemaname = 'marts' and t.tablename <> 'fx_rates_daily'
                    and not exists (
                        select 1 from information_schema.columns c
                        where c.table_schema = t.schemaname and c.table_name = t.tablename
                            and c.column_name = 'tenant_id')
            loop
                execute format('drop table %I.%I cascade', mart.schemaname, mart.tablename);
            end loop;
        end
        $$
    """)


def downgrade() -> None:
    # The marts are rebuilt by dbt from the raw tables; nothing to restore here.
    pass
