"""Notification deliveries (Slack, webhooks): one row per digest per channel.

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
    # One row per digest sent (or attempted) to one channel. The target is a name or a redacted URL:
    # webhook URLs carry secrets and are never stored.
    op.execute("""
        create table app.notifications (
            notification_id   bigserial primary key,
            tenant_id         text not null references app.tenants (tenant_id) default 'default',
            channel           text not null check (channel in ('slack', 'webhook')),
            target            text not null,
            run_id            text,
            status            text not null check (status in ('sent', 'failed', 'skipped')),
            item_count        integer not null default 0,
            digest            jsonb not null default '{}'::jsonb,
            attempts          integer not null default 0,
            last_status_code  integer,
            error             text,
            created_at        timestamptz not null default now(),
            sent_at           timestamptz
        )""")


def downgrade() -> None:
    op.execute("drop table if exists app.notifications")
