"""First-party events (Segment spec) and the collector's write keys.

``raw.cdp_events``: one row per event per tenant, keyed by ``messageId`` (a re-sent event is the same
row). Email and phone arrive hashed (SHA-256 of the normalized value) and are lifted into columns for
identity resolution. ``app.collect_keys``: the collector's write keys, stored as SHA-256 only (a key
is shown once, when made), per tenant, revocable.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table raw.cdp_events (
            tenant_id      text not null references app.tenants (tenant_id) default 'default',
            message_id     text not null,
            type           text not null
                           check (type in ('track', 'identify', 'page', 'screen', 'group', 'alias')),
            event          text,
            anonymous_id   text,
            user_id        text,
            previous_id    text,
            group_id       text,
            email_sha256   text,
            phone_sha256   text,
            properties     jsonb not null default '{}'::jsonb,
            traits         jsonb not null default '{}'::jsonb,
            context        jsonb not null default '{}'::jsonb,
            extra          jsonb not null default '{}'::jsonb,
            "timestamp"    timestamptz not null,
            sent_at        timestamptz,
            received_at    timestamptz not null,
            source         text not null,
            loaded_at      timestamptz not null default now(),
            primary key (tenant_id, message_id),
            check (anonymous_id is not null or user_id is not null)
        )""")
    op.execute('create index cdp_events_by_time on raw.cdp_events (tenant_id, "timestamp")')
    # Identity resolution reads what was loaded since its last run.
    op.execute("create index cdp_events_by_load on raw.cdp_events (tenant_id, loaded_at)")
    op.execute("""
        create table app.collect_keys (
            key_id        bigserial primary key,
            tenant_id     text not null references app.tenants (tenant_id),
            name          text not null,
            key_sha256    text not null unique,
            key_hint      text not null,
            created_by    text not null,
            created_at    timestamptz not null default now(),
            revoked_at    timestamptz,
            revoked_by    text
        )""")
    op.execute("select app.protect_tenant_table('app.collect_keys'::regclass)")


def downgrade() -> None:
    op.execute("drop table app.collect_keys")
    op.execute("drop table raw.cdp_events")
