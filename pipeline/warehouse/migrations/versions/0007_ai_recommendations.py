"""AI recommendations and the model calls behind them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every model call: what it cost and how it went. Never a prompt, never a key.
    op.execute("""
        create table app.llm_calls (
            call_id              bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            run_id               text,
            provider             text not null,
            model                text not null,
            purpose              text not null,
            as_of                date,
            started_at           timestamptz not null default now(),
            latency_ms           double precision,
            input_tokens         integer,
            output_tokens        integer,
            status               text not null check (status in ('ok', 'error', 'invalid')),
            http_status          integer,
            error                text,
            validation_errors    jsonb,
            request_id           text,
            message_id           text,
            stop_reason          text,
            recommendations_count integer
        )""")
    op.execute("create index llm_calls_by_time on app.llm_calls (tenant_id, started_at desc)")

    # Status: pending → accepted / rejected (the queued action's decision) → executed; expired when a later
    # run supersedes a pending one. produced_by says which path answered, fallback_reason why not Claude.
    op.execute("""
        create table app.ai_recommendations (
            recommendation_id    bigserial primary key,
            tenant_id            text not null references app.tenants (tenant_id) default 'default',
            run_id               text,
            as_of                date not null,
            produced_by          text not null check (produced_by in ('claude', 'fallback')),
            fallback_reason      text,
            model                text,
            llm_call_id          bigint references app.llm_calls (call_id),
            platform             text not null,
            account_id           text,
            campaign_id          text,
            entity_level         text not null check (entity_level in ('campaign', 'account', 'platform')),
            entity_id            text not null,
            entity_name          text,
            action               text not null check (action in ('PAUSE', 'RESUME', 'BUDGET_CHANGE',
                                                                 'REALLOCATE', 'INVESTIGATE', 'NO_ACTION')),
            title                text not null,
            rationale            text not null,
            confidence           double precision not null check (confidence between 0 and 1),
            citations            jsonb not null default '[]'::jsonb,
            proposed_change      jsonb,
            expected_impact      jsonb,
            status               text not null default 'pending'
                                 check (status in ('pending', 'accepted', 'rejected', 'executed', 'expired')),
            status_reason        text,
            status_changed_by    text,
            status_changed_at    timestamptz,
            action_id            bigint,
            result_metrics       jsonb,
            result_measured_at   timestamptz,
            created_at           timestamptz not null default now(),
            updated_at           timestamptz not null default now()
        )""")
    op.execute("create index ai_recommendations_by_status on app.ai_recommendations (tenant_id, status)")
    # One pending recommendation per entity: a re-run refreshes or supersedes it, never stacks another.
    op.execute("""
        create unique index ai_recommendations_one_pending_per_entity
            on app.ai_recommendations (tenant_id, entity_level, platform, coalesce(account_id, ''), entity_id)
            where status = 'pending'""")
    op.execute("create index ai_recommendations_by_action on app.ai_recommendations (action_id)")


def downgrade() -> None:
    op.execute("drop table if exists app.ai_recommendations")
    op.execute("drop table if exists app.llm_calls")
