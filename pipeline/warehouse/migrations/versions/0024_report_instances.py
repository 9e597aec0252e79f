"""Scheduled reports (issue 17): stored definitions and one instance per run of a report for a period.

``app.report_definitions`` holds the validated definitions ``adsignal reports import`` stored (one per
tenant and name, as JSON); the daily asset runs the ones whose schedule is due.

``files`` lists what the run wrote (``[{format, path, bytes, sha256}]``), ``deliveries`` what each
destination did (``[{destination, status, attempts, error}]``). Unique per tenant, report and period:
re-running a period replaces its instance rather than adding one. Row-level security like every
tenant table.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table app.report_definitions (
            tenant_id     text not null references app.tenants (tenant_id),
            report_name   text not null,
            definition    jsonb not null,
            source        text,
            created_at    timestamptz not null default now(),
            updated_at    timestamptz not null default now(),
            primary key (tenant_id, report_name)
        );
        select app.protect_tenant_table('app.report_definitions');

        create table app.report_instances (
            instance_id   uuid primary key default gen_random_uuid(),
            tenant_id     text not null references app.tenants (tenant_id),
            report_name   text not null,
            period_start  date not null,
            period_end    date not null,
            status        text not null check (status in ('succeeded', 'failed')),
            files         jsonb not null default '[]'::jsonb,
            deliveries    jsonb not null default '[]'::jsonb,
            error         text,
            created_at    timestamptz not null default now(),
            updated_at    timestamptz not null default now(),
            unique (tenant_id, report_name, period_start, period_end),
            check (period_end >= period_start)
        );
        select app.protect_tenant_table('app.report_instances');
    """)


def downgrade() -> None:
    op.execute("drop table app.report_instances; drop table app.report_definitions")
