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


def downgrade() -> None:
    op.execute("drop table if exists app.llm_calls")
    op.execute("drop table if exists app.ai_recommendations")
