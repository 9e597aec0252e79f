"""Budget experiments: the BUDGET_EXPERIMENT action type, app.budget_experiments, allocation intervals.

- ``app.actions_queue``: action type ``BUDGET_EXPERIMENT`` (one step of an experiment's schedule) and
  source ``experiment``.
- ``app.budget_experiments``: one row per experiment a budget allocation proposed for a campaign whose
  response-curve curvature is unidentified: its schedule (daily budgets in the account currency), why
  it was proposed (value of information vs cost), the elasticity before and, after the refit, after.
- ``app.budget_allocations.expected_value_low / _high``: the allocation's interval of expected value
  (posterior draws of the curves; ``uncertainty`` holds the level, draws and the uplift interval).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table app.actions_queue drop constraint if exists actions_queue_action_type_check")
    op.execute("""
        alter table app.actions_queue add constraint actions_queue_action_type_check
            check (action_type in ('PAUSE', 'RESUME', 'BUDGET_CHANGE', 'REALLOCATE', 'BUDGET_EXPERIMENT'))""")
    op.execute("alter table app.actions_queue drop constraint if exists actions_queue_source_check")
    op.execute("""
        alter table app.actions_queue add constraint actions_queue_source_check
            check (source in ('rule', 'recommendation', 'allocation', 'manual', 'experiment'))""")

    # status: proposed (first step awaiting approval) -> running (first step executed) -> completed (back at
    # its baseline) -> refitted (elasticity_after recorded); or rejected / blocked (first step), cancelled.
    op.execute("""
        create table app.budget_experiments (
            experiment_id         bigserial primary key,
            tenant_id             text not null references app.tenants (tenant_id) default 'default',
            allocation_id         bigint references app.budget_allocations (allocation_id) on delete set null,
            platform              text not null,
            account_id            text not null,
            campaign_id           text not null,
            campaign_name         text,
            currency              text,
            status                text not null default 'proposed'
                                  check (status in ('proposed', 'running', 'completed', 'refitted', 'rejected',
                                                    'blocked', 'cancelled')),
            design                text not null default 'ABBA',
            amplitude             double precision not null,
            sign                  smallint not null check (sign in (-1, 1)),
            multipliers           jsonb not null,          -- [1.15, 1.15, 1.15, 0.85, ...] one per day
            daily_budgets         jsonb not null,          -- the budget to set each day (account currency)
            current_daily_budget  numeric(18, 2) not null, -- before the experiment
            baseline_daily_budget numeric(18, 2) not null, -- the allocated budget the schedule varies around
            planned_start         date not null,
            started_on            date,                    -- the day its first step was executed
            ended_on              date,
            elasticity_before     jsonb not null,          -- {mean, sd, predicted_sd_after}
            elasticity_after      jsonb,                   -- {mean, sd} after the refit
            value_of_information  double precision,
            cost                  double precision,
            reason                text not null,
            last_error            text,
            run_id                text,
            created_at            timestamptz not null default now(),
            updated_at            timestamptz not null default now()
        )""")
    # One live experiment per campaign.
    op.execute("""
        create unique index budget_experiments_one_live
            on app.budget_experiments (tenant_id, platform, account_id, campaign_id)
            where status in ('proposed', 'running', 'completed')""")
    op.execute("alter table app.budget_allocations add column expected_value_low double precision")
    op.execute("alter table app.budget_allocations add column expected_value_high double precision")
    op.execute("alter table app.budget_allocations add column uncertainty jsonb")


def downgrade() -> None:
    op.execute("alter table app.budget_allocations drop column if exists uncertainty")
    op.execute("alter table app.budget_allocations drop column if exists expected_value_high")
    op.execute("alter table app.budget_allocations drop column if exists expected_value_low")
    op.execute("drop table if exists app.budget_experiments")
    op.execute(
        "delete from app.actions_queue where action_type = 'BUDGET_EXPERIMENT' or source = 'experiment'"
    )
    op.execute("alter table app.actions_queue drop constraint if exists actions_queue_source_check")
    op.execute("""
        alter table app.actions_queue add constraint actions_queue_source_check
            check (source in ('rule', 'recommendation', 'allocation', 'manual'))""")
    op.execute("alter table app.actions_queue drop constraint if exists actions_queue_action_type_check")
    op.execute("""
        alter table app.actions_queue add constraint actions_queue_action_type_check
            check (action_type in ('PAUSE', 'RESUME', 'BUDGET_CHANGE', 'REALLOCATE'))""")
