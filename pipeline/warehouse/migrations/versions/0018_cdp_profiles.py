"""Identity-resolved profiles (``pipeline.analytics.identity``): which identifiers are one person.

``app.cdp_identities``: every identifier (user id, anonymous id, email or phone hash) and the profile
it belongs to. ``app.cdp_profiles``: one row per profile ever made (``canonical_id`` stable; a
profile merged into an older one keeps its row with ``merged_into``). ``app.cdp_profile_merges`` and
``app.cdp_identity_conflicts``: the history (a merge, or a join refused because both sides had a
user id). ``app.cdp_resolution_state``: how far each tenant's events are resolved.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TABLES = (
    "cdp_identity_conflicts",
    "cdp_profile_merges",
    "cdp_identities",
    "cdp_profiles",
    "cdp_resolution_state",
)


def upgrade() -> None:
    op.execute("""
        create table app.cdp_profiles (
            tenant_id      text not null references app.tenants (tenant_id),
            canonical_id   text not null,
            user_id        text,
            first_seen     timestamptz not null,
            last_seen      timestamptz not null,
            merged_into    text,
            merged_at      timestamptz,
            updated_at     timestamptz not null default now(),
            primary key (tenant_id, canonical_id)
        )""")
    op.execute("""
        create table app.cdp_identities (
            tenant_id      text not null references app.tenants (tenant_id),
            kind           text not null check (kind in ('user_id', 'anonymous_id', 'email', 'phone')),
            value          text not null,
            canonical_id   text not null,
            first_seen     timestamptz not null default now(),
            primary key (tenant_id, kind, value)
        )""")
    op.execute("create index cdp_identities_by_profile on app.cdp_identities (tenant_id, canonical_id)")
    op.execute("""
        create table app.cdp_profile_merges (
            tenant_id      text not null references app.tenants (tenant_id),
            merged_id      text not null,
            into_id        text not null,
            merged_at      timestamptz not null,
            recorded_at    timestamptz not null default now(),
            primary key (tenant_id, merged_id)
        )""")
    op.execute("""
        create table app.cdp_identity_conflicts (
            tenant_id      text not null references app.tenants (tenant_id),
            kept_kind      text not null,
            kept_value     text not null,
            refused_kind   text not null,
            refused_value  text not null,
            seen_at        timestamptz not null,
            primary key (tenant_id, kept_kind, kept_value, refused_kind, refused_value)
        )""")
    op.execute("""
        create table app.cdp_resolution_state (
            tenant_id            text primary key references app.tenants (tenant_id),
            resolved_through     timestamptz not null,
            updated_at           timestamptz not null default now()
        )""")
    for table in TABLES:
        op.execute(f"select app.protect_tenant_table('app.{table}'::regclass)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"drop table app.{table}")
