"""Notification deliveries (Slack, webhooks): one row per digest per channel, and what each channel
has already been told about each alert.

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
    # One row per digest sent, attempted or skipped (nothing new) on one channel in one run. The target
    # is a redacted form of the destination (scheme and host): webhook URLs carry secrets and are never
    # stored. ``digest`` is the channel-neutral body (the generic webhook's JSON) for audit.
    op.execute("""
        create table app.notifications (
            notification_id   bigserial primary key,
            tenant_id         text not null references app.tenants (tenant_id) default 'default',
            channel           text not null check (channel in ('slack', 'webhook')),
            target            text not null,
            run_id            text,
            delivery_id       uuid not null unique,
            status            text not null check (status in ('sent', 'failed', 'skipped')),
            item_count        integer not null default 0,
            digest            jsonb not null default '{}'::jsonb,
            attempts          integer not null default 0,
            last_status_code  integer,
            error             text,
            created_at        timestamptz not null default now(),
            sent_at           timestamptz
        )""")
    op.execute("create index notifications_by_run on app.notifications (tenant_id, run_id, channel)")
    op.execute("create index notifications_recent on app.notifications (tenant_id, channel, created_at desc)")

    # Per alert and channel: the highest severity that channel was told about, and whether it heard of
    # the alert's resolution. Kept per channel so a Slack outage does not cost the webhook its items
    # (or the reverse): each channel catches up on its own next run. An unchanged alert is never sent
    # twice; one whose severity rises above what was sent is sent again as escalated.
    op.execute("""
        create table app.alert_notification_state (
            alert_id              bigint not null references app.alerts (alert_id) on delete cascade,
            channel               text not null check (channel in ('slack', 'webhook')),
            notified_severity     text not null
                                  check (notified_severity in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
            first_notified_at     timestamptz not null default now(),
            last_notified_at      timestamptz not null default now(),
            resolution_notified_at timestamptz,
            last_notification_id  bigint references app.notifications (notification_id) on delete set null,
            primary key (alert_id, channel)
        )""")


def downgrade() -> None:
    op.execute("drop table if exists app.alert_notification_state")
    op.execute("drop table if exists app.notifications")
