"""Notification channels per tenant: each tenant's alerts go to its own Slack / webhook.

``app.notification_channels`` holds one row per tenant and channel (``slack``, ``webhook``): the URL
and the webhook's signing secret encrypted together like connection credentials (a Slack webhook's
path is its token), the redacted target (scheme and host) that may be shown, and the channel's own
minimum severity. Only the pipeline's role reads it (it alone holds the encryption key); row-level
security is on like every tenant table, so a grant added later cannot cross tenants.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table app.notification_channels (
            tenant_id         text not null references app.tenants (tenant_id),
            channel           text not null check (channel in ('slack', 'webhook')),
            secret_encrypted  bytea not null,
            target            text not null,
            min_severity      text check (min_severity in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
            created_at        timestamptz not null default now(),
            updated_at        timestamptz not null default now(),
            primary key (tenant_id, channel)
        );
        select app.protect_tenant_table('app.notification_channels');
    """)


def downgrade() -> None:
    op.execute("drop table app.notification_channels")
