"""Budget allocations (the seed's shape) and their per-campaign lines.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The seed's shape (period, total budget, allocations per platform) plus what the optimizer knew.
    op.execute("""
        create table app.budget_allocations (
            allocation_id        bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            period_start         date not null,
            period_end           date not null,
            total_budget         numeric(18, 2) not null,
            currency             text not null,
            objective            text not null,
            allocations          jsonb not null,  -- {platform: amount for the period}
            expected_value       double precision,
            current_split_value  double precision,
            proportional_value   double precision,
            unallocated          numeric(18, 2) not null default 0,
            unallocated_reason   text,
            binding_constraints  jsonb not null default '[]'::jsonb,
            fit_summary          jsonb not null default '{}'::jsonb,
            signal_health        jsonb,
            run_id               text,
            created_at           timestamptz not null default now()
        )""")
    op.execute("""
        create table app.budget_allocation_lines (
            allocation_id        bigint not null references app.budget_allocations (allocation_id)
                                 on delete cascade,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            platform             text not null,
            account_id           text not null,
            campaign_id          text not null,
            campaign_name        text,
            currency             text,
            current_daily_spend  double precision not null,
            recommended_daily_budget double precision not null,
            min_daily_budget     double precision,
            max_daily_budget     double precision,
            expected_value       double precision,
            current_value        double precision,
            fit_quality          double precision,
            treatment            text not null,  -- fitted / conservative (too little data) / ...
            binding              text,
            primary key (allocation_id, platform, account_id, campaign_id)
        )""")


def downgrade() -> None:
    op.execute("drop table if exists app.budget_allocation_lines")
    op.execute("drop table if exists app.budget_allocations")
