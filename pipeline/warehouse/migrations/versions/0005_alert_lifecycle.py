"""Alert lifecycle: which detector owns a live alert, as of when, and the notes people leave.

- ``detected_by``: the producer that last raised the alert (``detector:daily``,
  ``detector:hourly``); a detector only ever resolves alerts it raised itself, so other producers'
  alerts (the rules engine's ``RULE_*``) and the other detector's are never touched.
- ``evaluated_as_of``: the as-of moment of the detector run that last raised or resolved it; a run
  for an older as-of (a backfill) leaves newer findings alone.
- ``acknowledged_note`` / ``resolution``: what a person wrote when acknowledging or resolving, and
  for automatic resolutions the evidence of recovery (the passed check's figures).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

HOURLY_ONLY_TYPES = ("SPEND_SPIKE",)
DETECTOR_TYPES = (
    "ZERO_CONVERSIONS",
    "ROAS_DROP",
    "CPA_SPIKE",
    "CTR_DROP",
    "CPC_SPIKE",
    "SPEND_PACING",
    "DATA_STALE",
    "DATA_INCOMPLETE",
    "DATA_INCONSISTENT",
)


def upgrade() -> None:
    op.execute("""
        alter table app.alerts
            add column detected_by       text,
            add column evaluated_as_of   timestamptz,
            add column acknowledged_note text,
            add column resolution        jsonb""")
    # Alerts written before the lifecycle came from the detectors (by type).
    op.execute(
        "update app.alerts set detected_by = 'detector:hourly' where detected_by is null"
        f" and alert_type in ({', '.join(repr(t) for t in HOURLY_ONLY_TYPES)})"
    )
    op.execute(
        "update app.alerts set detected_by = 'detector:daily' where detected_by is null"
        f" and alert_type in ({', '.join(repr(t) for t in DETECTOR_TYPES)})"
    )
    # One live alert per (producer, entity, type): the daily and the hourly detector both raise CPC_SPIKE,
    # and each keeps (and resolves) its own instead of taking over the other's.
    op.execute("drop index app.alerts_one_live_per_entity")
    op.execute("""
        create unique index alerts_one_live_per_entity
            on app.alerts (tenant_id, detected_by, alert_type, platform, entity_level, entity_id)
            where status in ('open', 'acknowledged', 'suppressed')""")
    # The lifecycle looks alerts up by producer and scope, live or not (stale-run guard).
    op.execute("""
        create index alerts_by_producer_scope
            on app.alerts (tenant_id, detected_by, alert_type, platform, entity_level, entity_id)""")


def downgrade() -> None:
    op.execute("drop index if exists app.alerts_by_producer_scope")
    op.execute("drop index app.alerts_one_live_per_entity")
    op.execute("""
        create unique index alerts_one_live_per_entity
            on app.alerts (tenant_id, alert_type, platform, entity_level, entity_id)
            where status in ('open', 'acknowledged', 'suppressed')""")
    op.execute("""
        alter table app.alerts
            drop column if exists resolution,
            drop column if exists acknowledged_note,
            drop column if exists evaluated_as_of,
            drop column if exists detected_by""")
