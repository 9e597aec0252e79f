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


def downgrade() -> None:
    op.execute("drop table if exists raw.file_imports")
