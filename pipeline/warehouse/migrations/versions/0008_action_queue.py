"""The action queue, the log of what was executed, and the audit log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Proposals from rules, recommendations and allocations; guardrails decide proposed vs blocked, a person
    # approves, execution writes back. idempotency_key keeps one live proposal per (source, campaign, change).
    # params.new_daily_budget is what execution sets (after clamping); params.requested_daily_budget what was
    # asked. guardrails: one {name, outcome, detail, values, stage} per check, of the latest evaluation.
    op.execute("""
        create table app.actions_queue (
            action_id            bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            source               text not null check (source in ('rule', 'recommendation', 'allocation', 'manual')),
            source_ref           text,
            platform             text not null,
            account_id           text not null,
            campaign_id          text not null,
            campaign_name        text,
            action_type          text not null check (action_type in ('PAUSE', 'RESUME', 'BUDGET_CHANGE', 'REALLOCATE')),
            params               jsonb not null default '{}'::jsonb,
            reason               text not null,
            evidence             jsonb not null default '{}'::jsonb,
            signal_health        jsonb,
            guardrails           jsonb not null default '[]'::jsonb,
            status               text not null default 'proposed'
                                 check (status in ('proposed', 'blocked', 'approved', 'rejected', 'executing',
                                                   'executed', 'failed', 'superseded')),
            idempotency_key      text not null,
            previous_state       jsonb,
            new_state            jsonb,
            dry_run              boolean,
            attempts             integer not null default 0,
            last_error           text,
            decided_by           text,
            decided_at           timestamptz,
            decision_note        text,
            executing_since      timestamptz,
            executed_at          timestamptz,
            executed_by          text,
            run_id               text,
            created_at           timestamptz not null default now(),
            updated_at           timestamptz not null default now()
        )""")
    # A failed action stays live (retryable): re-proposing the same change refreshes it, never stacks a twin.
    op.execute("""
        create unique index actions_queue_one_live_proposal
            on app.actions_queue (tenant_id, idempotency_key)
            where status in ('proposed', 'blocked', 'approved', 'executing', 'failed')""")
    # Guardrail context: a campaign's recent and in-flight actions (cooldown, change per day).
    op.execute(
        "create index actions_queue_by_campaign on app.actions_queue (tenant_id, platform, campaign_id)"
    )
    op.execute("create index actions_queue_by_status on app.actions_queue (tenant_id, status)")

    # What was done to a platform (or would have been, in a dry run), one row per execution attempt.
    # status: succeeded (written, or found already applied by an earlier attempt: response.already_applied),
    # failed (the platform call failed: error), blocked (execution-time guardrails refused: guardrails).
    op.execute("""
        create table app.ai_actions_log (
            log_id               bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            action_id            bigint not null references app.actions_queue (action_id),
            recommendation_id    bigint,
            attempt              integer,
            platform             text not null,
            account_id           text not null,
            campaign_id          text not null,
            action_type          text not null,
            dry_run              boolean not null,
            status               text not null check (status in ('succeeded', 'failed', 'blocked')),
            previous_state       jsonb,
            new_state            jsonb,
            request              jsonb,
            response             jsonb,
            guardrails           jsonb,
            error                text,
            executed_by          text,
            executed_at          timestamptz not null default now()
        )""")
    op.execute("create index ai_actions_log_by_action on app.ai_actions_log (action_id, executed_at)")

    # Who did what to which object, for every state change a person or the pipeline makes.
    op.execute("""
        create table app.audit_logs (
            audit_id             bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            actor                text not null,
            event                text not null,
            object_type          text not null,
            object_id            text not null,
            details              jsonb not null default '{}'::jsonb,
            created_at           timestamptz not null default now()
        )""")
    op.execute("create index audit_logs_by_object on app.audit_logs (object_type, object_id, created_at)")


def downgrade() -> None:
    op.execute("drop table if exists app.audit_logs")
    op.execute("drop table if exists app.ai_actions_log")
    op.execute("drop table if exists app.actions_queue")
