"""Reads behind the run summary (`adsignal demo`, `adsignal summary`): counts, live alerts, decisions."""

from __future__ import annotations

import psycopg

SCHEMAS = ("raw", "marts", "app")


def table_row_counts(conn: psycopg.Connection) -> list[tuple[str, str, int]]:
    # A table partitioned by month counts once, its partitions' rows included (they are not listed).
    tables = conn.execute(
        "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = any(%s) and c.relkind in ('r', 'p') and not c.relispartition order by 1, 2",
        (list(SCHEMAS),),
    ).fetchall()
    return [
        (schema, name, conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])
        for schema, name in tables
    ]


def live_alerts(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """select severity, alert_type, platform, entity_name, title, window_start, window_end
           from app.alerts where status in ('open', 'acknowledged')
           order by array_position(array['CRITICAL','HIGH','MEDIUM','LOW'], severity), alert_type, entity_name"""
    ).fetchall()


def quarantine_reasons(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "select platform, stream, split_part(reason, ':', 1) as reason, count(*) from raw.quarantine"
        " group by 1, 2, 3 order by 4 desc"
    ).fetchall()


def held_alert_count(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from app.alerts where status = 'suppressed'").fetchone()[0]


def latest_allocation(conn: psycopg.Connection) -> tuple | None:
    return conn.execute(
        """select allocation_id, period_start, period_end, total_budget, currency, objective, allocations,
                  expected_value, current_split_value, proportional_value, unallocated, unallocated_reason
           from app.budget_allocations order by allocation_id desc limit 1"""
    ).fetchone()


def pending_recommendations(conn: psycopg.Connection, limit: int = 8) -> list[tuple]:
    return conn.execute(
        """select recommendation_id, produced_by, action, platform, title, confidence
           from app.ai_recommendations where status = 'pending'
           order by confidence desc, recommendation_id limit %s""",
        (limit,),
    ).fetchall()


def queued_actions(conn: psycopg.Connection, limit: int = 10) -> list[tuple]:
    return conn.execute(
        """select action_id, status, action_type, source, platform, coalesce(campaign_name, campaign_id), params,
                  reason
           from app.actions_queue where status in ('proposed', 'blocked', 'approved')
           order by status = 'blocked', array_position(array['rule', 'recommendation', 'allocation'], source),
                    action_id
           limit %s""",
        (limit,),
    ).fetchall()


def executed_actions(conn: psycopg.Connection, limit: int = 5) -> list[tuple]:
    return conn.execute(
        """select l.action_id, l.executed_at, l.executed_by, l.platform, coalesce(q.campaign_name, l.campaign_id),
                  l.action_type, l.dry_run, l.status, l.previous_state, l.new_state
           from app.ai_actions_log l join app.actions_queue q using (action_id)
           order by l.executed_at desc limit %s""",
        (limit,),
    ).fetchall()


def rule_results(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """select r.name, coalesce(run.matched_count, 0), run.status, r.execution_count
           from app.rules r
           left join lateral (select matched_count, status from app.rule_runs rr where rr.rule_id = r.rule_id
                              order by rr.evaluated_at desc limit 1) run on true
           where r.enabled order by r.name"""
    ).fetchall()


def waiting_action_count(conn: psycopg.Connection) -> int:
    return conn.execute(
        "select count(*) from app.actions_queue where status in ('proposed', 'blocked', 'approved')"
    ).fetchone()[0]
