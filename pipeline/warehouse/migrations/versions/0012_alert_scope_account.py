"""One live alert per entity *within its account*: ids are unique only within an account for many
sources (two CSV accounts may both have a campaign c1), so the live-alert key and the producer/scope
index include the account (``coalesce(account_id, '')``: platform-level alerts have none).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("drop index app.alerts_one_live_per_entity")
    op.execute("""
        create unique index alerts_one_live_per_entity
            on app.alerts (tenant_id, detected_by, alert_type, platform, entity_level,
                           (coalesce(account_id, '')), entity_id)
            where status in ('open', 'acknowledged', 'suppressed')""")
    op.execute("drop index app.alerts_by_producer_scope")
    op.execute("""
        create index alerts_by_producer_scope
            on app.alerts (tenant_id, detected_by, alert_type, platform, entity_level,
                           (coalesce(account_id, '')), entity_id)""")


def downgrade() -> None:
    op.execute("drop index app.alerts_by_producer_scope")
    op.execute("""
        create index alerts_by_producer_scope
            on app.alerts (tenant_id, detected_by, alert_type, platform, entity_level, entity_id)""")
    # Fails if two accounts now hold a live alert on the same entity id, as it should.
    op.execute("drop index app.alerts_one_live_per_entity")
    op.execute("""
        create unique index alerts_one_live_per_entity
            on app.alerts (tenant_id, detected_by, alert_type, platform, entity_level, entity_id)
            where status in ('open', 'acknowledged', 'suppressed')""")
