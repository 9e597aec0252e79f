"""Reads and writes behind notifications: candidates per channel, what each channel was told, the log.

Run one channel's digest inside one transaction that starts with :func:`lock_channel`: two runs
(the daily schedule starts one per platform) then cannot both send the same alerts, and the state
written after a successful POST commits with the ``app.notifications`` row. If the process dies
between the POST and the commit the next run sends those items again: at least once, never lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pipeline.notifications.config import Channel
from pipeline.notifications.digest import AlertCandidate, AlertChange, RuleNotice

# rule action type -> channel
NOTIFY_ACTION_CHANNELS: dict[str, Channel] = {"notify_slack": "slack", "notify_webhook": "webhook"}
# What a rule action may say about the entity it matched (carried into the webhook body).
ENTITY_KEYS = ("platform", "account_id", "campaign_id", "campaign_name")


def lock_channel(conn: psycopg.Connection, tenant_id: str, channel: Channel) -> None:
    """Serialize digests of one (tenant, channel) until the current transaction ends."""
    conn.execute(
        "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
        (f"adsignal.notifications:{tenant_id}:{channel}",),
    )


_CANDIDATE_COLUMNS = (
    "a.alert_id, a.alert_type, a.severity, a.status, a.platform, a.account_id, a.entity_level, a.entity_id,"
    " a.entity_name, a.title, a.message, a.metric, a.current_value, a.baseline_value, a.first_detected_at,"
    " a.last_detected_at, a.resolved_at, a.resolved_by, s.notified_severity,"
    " s.resolution_notified_at is not null"
)


def alert_candidates(conn: psycopg.Connection, tenant_id: str, channel: Channel) -> list[AlertCandidate]:
    """Live alerts, and resolved ones ``channel`` was told about but not of their resolution."""
    rows = conn.execute(
        f"""
        select {_CANDIDATE_COLUMNS}
        from app.alerts a
        left join app.alert_notification_state s on s.alert_id = a.alert_id and s.channel = %(channel)s
        where a.tenant_id = %(tenant)s
          and (a.status in ('open', 'acknowledged')
               or (a.status = 'resolved' and s.alert_id is not null and s.resolution_notified_at is null))
        order by a.alert_id
        """,
        {"tenant": tenant_id, "channel": channel},
    ).fetchall()
    return [AlertCandidate(*row) for row in rows]


def queued_rule_notices(conn: psycopg.Connection, tenant_id: str, run_id: str) -> list[RuleNotice]:
    """The queued ``notify_slack`` / ``notify_webhook`` actions of this run's rule evaluations.

    Only this run's: rules are evaluated every run, so an older rule notice that failed is not
    worth resending after its rule has spoken again. Rows are locked until the transaction ends.
    """
    rows = conn.execute(
        """
        select rr.rule_run_id, rr.rule_id, r.name, rr.actions
        from app.rule_runs rr
        left join app.rules r on r.rule_id = rr.rule_id
        where rr.tenant_id = %s and rr.run_id = %s
        order by rr.rule_run_id
        for update of rr
        """,
        (tenant_id, run_id),
    ).fetchall()
    notices: list[RuleNotice] = []
    for rule_run_id, rule_id, rule_name, actions in rows:
        for index, action in enumerate(actions or []):
            if not isinstance(action, Mapping) or action.get("status") != "queued":
                continue
            channel = NOTIFY_ACTION_CHANNELS.get(str(action.get("type")))
            if channel is None:
                continue
            target = action.get("target")
            notices.append(
                RuleNotice(
                    rule_run_id=rule_run_id,
                    action_index=index,
                    channel=channel,
                    message=str(action.get("message") or ""),
                    rule_id=rule_id,
                    rule_name=rule_name,
                    target=str(target) if target is not None else None,
                    entity={
                        key: None if action.get(key) is None else str(action[key])
                        for key in ENTITY_KEYS
                        if key in action
                    },
                )
            )
    return notices


def set_rule_notice_status(
    conn: psycopg.Connection,
    notices: Iterable[RuleNotice],
    status: str,
    *,
    notification_id: int | None = None,
) -> int:
    """Record what became of rule notify actions (``sent`` / ``failed`` / ``not_configured``)."""
    by_run: dict[int, list[RuleNotice]] = {}
    for notice in notices:
        by_run.setdefault(notice.rule_run_id, []).append(notice)
    updated = 0
    for rule_run_id, run_notices in by_run.items():
        row = conn.execute(
            "select actions from app.rule_runs where rule_run_id = %s for update", (rule_run_id,)
        ).fetchone()
        if row is None:
            continue
        actions: list[Any] = list(row[0] or [])
        for notice in run_notices:
            if notice.action_index < len(actions) and isinstance(actions[notice.action_index], Mapping):
                action = dict(actions[notice.action_index])
                action["status"] = status
                if notification_id is not None:
                    action["notification_id"] = notification_id
                actions[notice.action_index] = action
                updated += 1
        conn.execute(
            "update app.rule_runs set actions = %s where rule_run_id = %s", (Jsonb(actions), rule_run_id)
        )
    return updated


def record_notification(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    channel: Channel,
    target: str,
    run_id: str | None,
    delivery_id: str,
    status: str,
    item_count: int,
    digest: Mapping[str, Any],
    attempts: int = 0,
    last_status_code: int | None = None,
    error: str | None = None,
) -> int:
    """One ``app.notifications`` row; ``target`` must already be redacted (scheme and host)."""
    row = conn.execute(
        """
        insert into app.notifications (tenant_id, channel, target, run_id, delivery_id, status, item_count,
            digest, attempts, last_status_code, error, sent_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, case when %s = 'sent' then now() end)
        returning notification_id
        """,
        (
            tenant_id,
            channel,
            target,
            run_id,
            delivery_id,
            status,
            item_count,
            Jsonb(dict(digest)),
            attempts,
            last_status_code,
            error,
            status,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def mark_alerts_notified(
    conn: psycopg.Connection, changes: Sequence[AlertChange], channel: Channel, notification_id: int
) -> None:
    """After a successful delivery: remember the severity sent, or that the resolution was sent."""
    raised = [(c.alert.alert_id, c.alert.severity) for c in changes if c.change != "resolved"]
    resolved = [c.alert.alert_id for c in changes if c.change == "resolved"]
    with conn.cursor() as cur:
        if raised:
            cur.executemany(
                """
                insert into app.alert_notification_state (alert_id, channel, notified_severity,
                    last_notification_id)
                values (%s, %s, %s, %s)
                on conflict (alert_id, channel) do update set
                    notified_severity = excluded.notified_severity, last_notified_at = now(),
                    last_notification_id = excluded.last_notification_id
                """,
                [(alert_id, channel, severity, notification_id) for alert_id, severity in raised],
            )
        if resolved:
            cur.execute(
                """
                update app.alert_notification_state
                set resolution_notified_at = now(), last_notified_at = now(), last_notification_id = %s
                where channel = %s and alert_id = any(%s)
                """,
                (notification_id, channel, resolved),
            )


# --- each tenant's channels (app.notification_channels; secrets arrive and leave encrypted) ---------


def upsert_channel(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    channel: Channel,
    secret_encrypted: bytes,
    target: str,
    min_severity: str | None,
) -> None:
    conn.execute(
        """insert into app.notification_channels (tenant_id, channel, secret_encrypted, target, min_severity)
           values (%s, %s, %s, %s, %s)
           on conflict (tenant_id, channel) do update set
               secret_encrypted = excluded.secret_encrypted, target = excluded.target,
               min_severity = excluded.min_severity, updated_at = now()""",
        (tenant_id, channel, secret_encrypted, target, min_severity),
    )


def channel_rows(conn: psycopg.Connection, tenant_id: str) -> list[tuple[Channel, bytes, str, str | None]]:
    """(channel, encrypted secret, redacted target, minimum severity) of a tenant's channels."""
    return conn.execute(
        "select channel, secret_encrypted, target, min_severity from app.notification_channels"
        " where tenant_id = %s order by channel",
        (tenant_id,),
    ).fetchall()


def delete_channel(conn: psycopg.Connection, tenant_id: str, channel: Channel) -> bool:
    deleted = conn.execute(
        "delete from app.notification_channels where tenant_id = %s and channel = %s", (tenant_id, channel)
    )
    return deleted.rowcount == 1
