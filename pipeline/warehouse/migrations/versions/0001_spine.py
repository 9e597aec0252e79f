"""Schemas, sync bookkeeping, quarantine, tenants, alerts, platform connections, API usage.

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
            account_id        text,  -- null for platform-level alerts
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
            suppressed_reason text,  -- why a detected alert is held back (data not healthy, rolled up)
            detection_count   integer not null default 1,
            first_detected_at timestamptz not null default now(),
            last_detected_at  timestamptz not null default now(),
            acknowledged_by   text,
            acknowledged_at   timestamptz,
            resolved_by       text,
            resolved_at       timestamptz,
            run_id            text
        )""")
    # One live alert per (entity, type), held or not: re-detection updates it instead of stacking.
    op.execute("""
        create unique index alerts_one_live_per_entity
            on app.alerts (tenant_id, alert_type, platform, entity_level, entity_id)
            where status in ('open', 'acknowledged', 'suppressed')""")
    op.execute("create index alerts_by_status on app.alerts (tenant_id, status, severity)")

    # Credentials are one Fernet token (AES-128-CBC + HMAC) of a JSON object: nothing secret in clear.
    op.execute("""
        create table app.platform_connections (
            connection_id          bigserial primary key,
            tenant_id              text not null references app.tenants (tenant_id) default 'default',
            platform               text not null,
            name                   text not null,
            account_ids            text[],
            base_url               text,
            credentials_encrypted  bytea not null,
            status                 text not null default 'active'
                                   check (status in ('active', 'broken', 'disabled')),
            status_reason          text,
            last_tested_at         timestamptz,
            last_refreshed_at      timestamptz,
            created_at             timestamptz not null default now(),
            updated_at             timestamptz not null default now(),
            unique (tenant_id, platform, name)
        )""")

    # Requests and throttling per platform endpoint and hour, summed over syncs.
    op.execute("""
        create table app.api_rate_limits (
            platform          text not null,
            endpoint          text not null,
            window_start      timestamptz not null,
            requests          bigint not null default 0,
            errors            bigint not null default 0,
            retries           bigint not null default 0,
            throttled         bigint not null default 0,
            throttle_sleep_s  double precision not null default 0,
            backoff_sleep_s   double precision not null default 0,
            last_status       integer,
            max_usage_pct     double precision,
            last_usage        jsonb,
            updated_at        timestamptz not null default now(),
            primary key (platform, endpoint, window_start)
        )""")


def downgrade() -> None:
    op.execute("drop table if exists app.api_rate_limits")
    op.execute("drop table if exists app.platform_connections")
    op.execute("drop table if exists app.alerts")
    op.execute("drop table if exists app.tenants")
    op.execute("drop table if exists raw.quarantine")
    op.execute("drop table if exists raw.sync_runs")
