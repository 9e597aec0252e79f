"""Segments of profiles and their membership history.

``app.cdp_segments``: a tenant's segment definitions (validated YAML, ``pipeline.analytics.segments``)
with ``profile_count`` and ``last_computed_at``. ``app.cdp_segment_members``: one row per stay of a
profile in a segment (``entered_at``, ``exited_at`` null while it stays). ``app.cdp_segment_runs``:
counts per refresh (members, entered, exited).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLES = ("cdp_segment_runs", "cdp_segment_members", "cdp_segments")


def upgrade() -> None:
    op.execute("""
        create table app.cdp_segments (
            segment_id        bigserial primary key,
            tenant_id         text not null references app.tenants (tenant_id),
            name              text not null,
            description       text not null default '',
            definition        jsonb not null,
            source            text,
            enabled           boolean not null default true,
            profile_count     integer,
            last_computed_at  timestamptz,
            created_at        timestamptz not null default now(),
            updated_at        timestamptz not null default now(),
            unique (tenant_id, name)
        )""")
    op.execute("""
        create table app.cdp_segment_members (
            tenant_id      text not null references app.tenants (tenant_id),
            segment_id     bigint not null references app.cdp_segments (segment_id) on delete cascade,
            canonical_id   text not null,
            entered_at     timestamptz not null,
            exited_at      timestamptz,
            primary key (tenant_id, segment_id, canonical_id, entered_at)
        )""")
    op.execute("""
        create unique index cdp_segment_members_current
            on app.cdp_segment_members (tenant_id, segment_id, canonical_id) where exited_at is null""")
    op.execute("""
        create table app.cdp_segment_runs (
            run_pk         bigserial primary key,
            tenant_id      text not null references app.tenants (tenant_id),
            segment_id     bigint not null references app.cdp_segments (segment_id) on delete cascade,
            computed_at    timestamptz not null default now(),
            as_of          timestamptz not null,
            profile_count  integer not null,
            entered        integer not null,
            exited         integer not null,
            run_id         text
        )""")
    for table in TABLES:
        op.execute(f"select app.protect_tenant_table('app.{table}'::regclass)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"drop table app.{table}")
