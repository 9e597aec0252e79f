"""Rules, their runs, and the labels rules apply to campaigns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A rule is its validated definition (conditions, filters, actions) kept as jsonb, plus bookkeeping.
    op.execute("""
        create table app.rules (
            rule_id           bigserial primary key,
            tenant_id         text not null references app.tenants (tenant_id) default 'default',
            name              text not null,
            description       text,
            enabled           boolean not null default true,
            definition        jsonb not null,
            source            text,  -- the file it was imported from, if any
            execution_count   bigint not null default 0,
            last_run_at       timestamptz,
            last_result       jsonb,
            created_at        timestamptz not null default now(),
            updated_at        timestamptz not null default now(),
            unique (tenant_id, name)
        )""")

    # One row per rule per evaluation: which entities matched, with their metric values, and what each
    # action did (actions: [{type, status applied/proposed/skipped/failed/queued, detail | message, target,
    # platform, account_id, campaign_id, ...}]; queued notify_* entries are delivered by the run's digest).
    op.execute("""
        create table app.rule_runs (
            rule_run_id       bigserial primary key,
            tenant_id         text not null references app.tenants (tenant_id) default 'default',
            rule_id           bigint not null references app.rules (rule_id) on delete cascade,
            run_id            text,
            as_of             date not null,
            evaluated_at      timestamptz not null default now(),
            status            text not null check (status in ('succeeded', 'failed')),
            entities_evaluated integer not null default 0,
            matched_count     integer not null default 0,
            matches           jsonb not null default '[]'::jsonb,
            actions           jsonb not null default '[]'::jsonb,
            error             text
        )""")
    op.execute("create index rule_runs_by_rule on app.rule_runs (rule_id, evaluated_at desc)")
    # The run's notification digest reads the rule runs of its run.
    op.execute("create index rule_runs_by_run on app.rule_runs (tenant_id, run_id)")

    op.execute("""
        create table app.campaign_labels (
            tenant_id         text not null references app.tenants (tenant_id) default 'default',
            platform          text not null,
            account_id        text not null,
            campaign_id       text not null,
            label             text not null,
            applied_by        text not null,
            applied_at        timestamptz not null default now(),
            primary key (tenant_id, platform, account_id, campaign_id, label)
        )""")


def downgrade() -> None:
    op.execute("drop table if exists app.campaign_labels")
    op.execute("drop table if exists app.rule_runs")
    op.execute("drop table if exists app.rules")
