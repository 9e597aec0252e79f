"""File imports record the rebuild of the marts: loaded -> rebuilt | rebuild_failed, with the error.

An import used to be ``succeeded`` as soon as its rows were in raw, even when the rebuild that
followed failed. ``succeeded`` rows become ``loaded`` (their rebuild's outcome was never recorded).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table raw.file_imports drop constraint if exists file_imports_status_check")
    op.execute("update raw.file_imports set status = 'loaded' where status = 'succeeded'")
    op.execute("""
        alter table raw.file_imports
            add constraint file_imports_status_check
                check (status in ('loaded', 'rebuilt', 'rebuild_failed', 'failed', 'rejected')),
            add column rebuild_error text,
            add column rebuild_run_id text,
            add column rebuilt_at timestamptz""")
    op.execute("comment on column raw.file_imports.status is"
               " 'loaded (rows in raw), rebuilt | rebuild_failed (the marts after it), failed (some"
               " accounts not loaded), rejected (the file refused)'")  # fmt: skip
    # The folder sensor's rebuild finds its imports by the import run's id.
    op.execute("create index file_imports_by_run_id on raw.file_imports (run_id) where run_id is not null")


def downgrade() -> None:
    op.execute("drop index if exists raw.file_imports_by_run_id")
    op.execute("alter table raw.file_imports drop constraint if exists file_imports_status_check")
    op.execute(
        "update raw.file_imports set status = 'succeeded' where status in ('loaded', 'rebuilt', 'rebuild_failed')"
    )
    op.execute("""
        alter table raw.file_imports
            drop column rebuild_error,
            drop column rebuild_run_id,
            drop column rebuilt_at,
            add constraint file_imports_status_check check (status in ('succeeded', 'failed', 'rejected'))""")
