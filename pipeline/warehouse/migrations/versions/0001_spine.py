"""Schemas, sync bookkeeping, quarantine, tenants and alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for schema in ("raw", "app"):
        op.execute(f"create schema if not exists {schema}")

    # One row per (platform, stream, account, window) sync: what freshness and lineage are built on.
    op.execute("""
        create table raw.sync_runs (
            sync_id           uuid primary key,
            platform          text not null,
            stream            text not null,
            account_id        text not null,
            window_start      date,
            window_end        date,
            started_at        timestamptz not null default now(),
            finished_at       timestamptz,
            status            text not null default 'running'
                              check (status in ('running', 'succeeded', 'failed')),
            rows_loaded       bigint not null default 0,
            rows_quarantined  bigint not null default 0,
            rows_deduplicated bigint not null default 0,
            error             text,
            run_id            text
        )""")
    op.execute(
        "create index sync_runs_lookup on raw.sync_runs (platform, stream, account_id, finished_at desc)"
    )

    # Rows that could not be loaded, with the reason; nothing is dropped silently.
    op.execute("""
        create table raw.quarantine (
            id              bigserial primary key,
            sync_id         uuid,
            platform        text not null,
            stream          text not null,
            account_id      text,
            source          text,
            line_number     bigint,
            reason          text not null,
            payload         jsonb,
            quarantined_at  timestamptz not null default now()
        )""")

    op.execute("""
        create table app.tenants (
            tenant_id   text primary key,
            name        text not null,
            created_at  timestamptz not null default now()
        )""")
    op.execute("insert into app.tenants (tenant_id, name) values ('default', 'Default tenant')")

    op.execute("""
        create table app.alerts (
            alert_id          bigserial primary key,
            tenant_id         text not null references app.tenants (tenant_id) default 'default',
            alert_type        text not null,
            severity          text not null check (severity in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
            status            text not null default 'open'
                              check (status in ('open', 'acknowledged', 'resolved', 'suppressed')),
            platform          text not null,
            account_id        text not null,
            entity_level      text not null,
            entity_id         text not null,
            entity_name       text,
            title             text not null,
            message           text not null,
            metric            text,
            current_value     double precision,
            baseline_value    double precision,
            threshold         double precision,
            window_start      date,
            window_end        date,
            evidence          jsonb not null default '{}'::jsonb,
            signal_health     jsonb,
            detection_count   integer not null default 1,
            first_detected_at timestamptz not null default now(),
            last_detected_at  timestamptz not null default now(),
            acknowledged_by   text,
            acknowledged_at   timestamptz,
            resolved_by       text,
            resolved_at       timestamptz,
            run_id            text
        )""")
    # One live alert per (entity, type): re-detection updates it instead of stacking duplicates.
    op.execute("""
        create unique index alerts_one_live_per_entity
            on app.alerts (tenant_id, alert_type, platform, entity_level, entity_id)
            where status in ('open', 'acknowledged')""")
    op.execute("create index alerts_by_status on app.alerts (tenant_id, status, severity)")


def downgrade() -> None:
    op.execute("drop table if exists app.alerts")
    op.execute("drop table if exists app.tenants")
    op.execute("drop table if exists raw.quarantine")
    op.execute("drop table if exists raw.sync_runs")
