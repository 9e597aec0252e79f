"""Alert history: the mornings each daily alert was detected, and how far the daily detector has scored.

- ``app.alerts.detection_mornings``: the as-of mornings on which the daily detector raised the alert,
  in order (``detection_count`` is their number). A range run replays every morning of its range and
  a backfill re-derives the history from its first morning; what an alert looked like before that
  morning is these dates. Null for other producers (hourly detector, rules).
- ``app.alert_watermarks``: per tenant and producer, the latest morning scored, so a backfill of
  earlier mornings replays up to it.

Alerts raised before this revision get their mornings approximated from ``evaluated_as_of`` and
``detection_count`` (consecutive mornings ending at the last one that detected them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("alter table app.alerts add column detection_mornings date[]")
    # As-of moments are midnight UTC of the morning; an auto-resolved alert was last detected the
    # morning before the one that resolved it.
    op.execute("""
        with last as (
            select alert_id, greatest(detection_count, 1) as n,
                   case when status = 'resolved' and resolved_by = 'adsignal:auto'
                        then (evaluated_as_of at time zone 'UTC')::date - 1
                        else (coalesce(evaluated_as_of, last_detected_at) at time zone 'UTC')::date
                   end as morning
            from app.alerts where detected_by = 'detector:daily'
        )
        update app.alerts a
        set detection_mornings = array(
            select (last.morning - k)::date from generate_series(last.n - 1, 0, -1) as k)
        from last where a.alert_id = last.alert_id""")
    op.execute("""
        create table app.alert_watermarks (
            tenant_id       text not null references app.tenants (tenant_id),
            detected_by     text not null,
            scored_through  date not null,  -- the latest as-of morning this producer has scored
            updated_at      timestamptz not null default now(),
            primary key (tenant_id, detected_by)
        )""")
    op.execute("""
        insert into app.alert_watermarks (tenant_id, detected_by, scored_through)
        select tenant_id, detected_by, max((evaluated_as_of at time zone 'UTC')::date)
        from app.alerts where detected_by = 'detector:daily' and evaluated_as_of is not null
        group by tenant_id, detected_by""")


def downgrade() -> None:
    op.execute("drop table if exists app.alert_watermarks")
    op.execute("alter table app.alerts drop column if exists detection_mornings")
