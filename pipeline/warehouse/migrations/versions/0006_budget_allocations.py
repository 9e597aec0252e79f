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
            created_at           timestamptz not null default now(),
            -- What the row was computed from: one row per (tenant, period, run window); a re-run replaces it.
            as_of                date not null,
            window_start         date not null,  -- the run's partition window
            window_end           date not null,
            training_start       date not null,  -- days the curves were fitted on
            training_end         date not null,
            period_days          integer not null,
            platforms            jsonb not null default '[]'::jsonb,  -- per platform: current, proposed, floors
            comparison           jsonb,  -- current split / proportional to ROAS / optimized, with uplift
            updated_at           timestamptz not null default now()
        )""")
    op.execute("""
        create unique index budget_allocations_one_per_period_and_window
            on app.budget_allocations (tenant_id, period_start, period_end, window_start, window_end)""")
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
            fit_quality          double precision,  -- 1 - MAPE of the curve on held-out days, in [0, 1]
            treatment            text not null,  -- fitted / conservative_thin_data / held_poor_fit / inactive /
                                                 -- excluded_signal_health
            binding              text,
            -- Amounts above are daily, in the account currency (`currency`); recommended_daily_budget is the
            -- daily budget to set. expected_value / current_value: period outcome in the allocation's currency.
            fx_rate              double precision,  -- reporting-currency units per account-currency unit
            current_daily_budget double precision,  -- the campaign's daily budget now (null: none)
            current_daily_spend_reporting     double precision,
            recommended_daily_spend_reporting double precision,
            change               double precision,  -- recommended / current - 1
            reason               text,
            fit                  jsonb not null default '{}'::jsonb,  -- the curve and its quality
            proposed             boolean not null default false,
            not_proposed_reason  text,
            action_id            bigint,  -- the REALLOCATE queued for this line, if any
            primary key (allocation_id, platform, account_id, campaign_id)
        )""")


def downgrade() -> None:
    op.execute("drop table if exists app.budget_allocation_lines")
    op.execute("drop table if exists app.budget_allocations")
