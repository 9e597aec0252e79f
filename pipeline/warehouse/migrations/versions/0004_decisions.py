"""Decisions: budget allocations, AI recommendations and their model calls, the action queue and logs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
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

    op.execute("""
        create table app.ai_recommendations (
            recommendation_id    bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            run_id               text,
            produced_by          text not null check (produced_by in ('claude', 'fallback')),
            fallback_reason      text,
            model                text,
            platform             text,
            account_id           text,
            campaign_id          text,
            entity_level         text not null,
            entity_id            text not null,
            action               text not null,
            title                text not null,
            rationale            text not null,
            confidence           double precision not null check (confidence between 0 and 1),
            citations            jsonb not null default '[]'::jsonb,
            proposed_change      jsonb,
            expected_impact      jsonb,
            status               text not null default 'pending'
                                 check (status in ('pending', 'accepted', 'rejected', 'executed', 'expired')),
            status_changed_by    text,
            status_changed_at    timestamptz,
            action_id            bigint,
            result_metrics       jsonb,
            result_measured_at   timestamptz,
            created_at           timestamptz not null default now()
        )""")
    op.execute("create index ai_recommendations_by_status on app.ai_recommendations (tenant_id, status)")

    # Every model call: what it cost and how it went. Never a prompt with credentials, never a key.
    op.execute("""
        create table app.llm_calls (
            call_id              bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            run_id               text,
            provider             text not null,
            model                text not null,
            purpose              text not null,
            started_at           timestamptz not null default now(),
            latency_ms           double precision,
            input_tokens         integer,
            output_tokens        integer,
            status               text not null check (status in ('ok', 'error', 'invalid')),
            error                text,
            validation_errors    jsonb,
            request_id           text
        )""")

    # Proposals from rules, recommendations and allocations; guardrails decide proposed vs blocked, a person
    # approves, execution writes back. idempotency_key keeps one live proposal per (source, campaign, change).
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
            executed_at          timestamptz,
            run_id               text,
            created_at           timestamptz not null default now(),
            updated_at           timestamptz not null default now()
        )""")
    op.execute("""
        create unique index actions_queue_one_live_proposal
            on app.actions_queue (tenant_id, idempotency_key)
            where status in ('proposed', 'blocked', 'approved', 'executing')""")

    # What was done to a platform (or would have been, in a dry run), one row per execution attempt.
    op.execute("""
        create table app.ai_actions_log (
            log_id               bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            action_id            bigint not null references app.actions_queue (action_id),
            recommendation_id    bigint,
            platform             text not null,
            account_id           text not null,
            campaign_id          text not null,
            action_type          text not null,
            dry_run              boolean not null,
            status               text not null check (status in ('succeeded', 'failed')),
            previous_state       jsonb,
            new_state            jsonb,
            request              jsonb,
            response             jsonb,
            error                text,
            executed_by          text,
            executed_at          timestamptz not null default now()
        )""")

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
    for table in (
        "audit_logs",
        "ai_actions_log",
        "actions_queue",
        "llm_calls",
        "ai_recommendations",
        "budget_allocation_lines",
        "budget_allocations",
    ):
        op.execute(f"drop table if exists app.{table}")
