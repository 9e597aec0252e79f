"""File imports bookkeeping: which CSV files were imported, with which content, and what they did.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per import attempt of a file. A folder import skips a file whose content (sha256) was
    # already imported or rejected, so a drop folder can be re-scanned any number of times.
    op.execute("""
        create table raw.file_imports (
            import_id         bigserial primary key,
            file_name         text not null,
            source_path       text,
            sha256            text not null,
            stream            text,
            status            text not null check (status in ('succeeded', 'failed', 'rejected')),
            imported_at       timestamptz not null default now(),
            rows_loaded       bigint not null default 0,
            rows_quarantined  bigint not null default 0,
            rows_duplicate    bigint not null default 0,
            report            jsonb not null default '{}'::jsonb,
            error             text,
            run_id            text
        )""")
    op.execute("create index file_imports_by_sha256 on raw.file_imports (sha256, status)")

    # The loader creates raw tables on first load; these two exist from the start because dbt's
    # csv staging reads them whether or not a file was ever imported. Same shape as
    # loader.ensure_raw_table (keys of pipeline.connectors.csv_import streams + payload + sync).
    for table, time_key in (
        ("csv_ad_performance_daily", '"date" date'),
        ("csv_ad_performance_hourly", "hour_start_local timestamp"),
    ):
        time_column = time_key.split()[0]
        op.execute(f"""
            create table if not exists raw.{table} (
                account_id     text not null,
                platform       text not null,
                ad_id          text not null,
                {time_key} not null,
                payload        jsonb not null,
                _sync_id       uuid not null,
                _extracted_at  timestamptz not null default now(),
                primary key (account_id, platform, ad_id, {time_column})
            )""")


def downgrade() -> None:
    # raw.csv_* hold imported data and belong to the loader (like raw.meta_*): kept.
    op.execute("drop table if exists raw.file_imports")
