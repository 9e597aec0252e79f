"""One run's notifications: per configured channel, build the digest, send it once, remember it.

Each channel is handled in its own transaction, under a per-(tenant, channel) advisory lock:

1. read the alerts the channel has not been told about (or told at a lower severity, or not told of
   their resolution) and this run's queued rule notify actions for it;
2. nothing to say: record a ``skipped`` row and send nothing;
3. else POST one digest (retries inside), record the ``sent`` / ``failed`` row, and only when sent
   remember per alert what the channel now knows. A failed channel keeps its items pending, so its
   next run catches up; the other channel is not affected.

Rule notify actions for a channel that is not configured are marked ``not_configured``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import psycopg

from pipeline.notifications import render
from pipeline.notifications.config import Channel, Destination, NotificationSettings
from pipeline.notifications.delivery import RetryPolicy, Sleep, deliver
from pipeline.notifications.digest import Digest, select_changes, webhook_payload
from pipeline.warehouse import notifications_store as store


@dataclass(frozen=True)
class ChannelOutcome:
    """What happened on one channel; safe to log (the target is redacted, errors carry no secrets)."""

    channel: Channel
    target: str
    status: str  # sent / failed / skipped
    notification_id: int
    delivery_id: str
    item_count: int = 0
    counts: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    status_code: int | None = None
    error: str | None = None


def send_digests(
    url: str,
    settings: NotificationSettings,
    *,
    tenant_id: str,
    run_id: str,
    as_of: date | None,
    client: httpx.Client | None = None,
    policy: RetryPolicy | None = None,
    sleep: Sleep | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[ChannelOutcome]:
    """Send this run's digest to every configured destination; one outcome per destination."""
    outcomes: list[ChannelOutcome] = []
    configured = {d.channel for d in settings.destinations}
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            unconfigured = [
                n for n in store.queued_rule_notices(conn, tenant_id, run_id) if n.channel not in configured
            ]
            store.set_rule_notice_status(conn, unconfigured, "not_configured")
        for destination in settings.destinations:
            with conn.transaction():
                outcomes.append(
                    _send_one(
                        conn,
                        destination,
                        settings,
                        tenant_id=tenant_id,
                        run_id=run_id,
                        as_of=as_of,
                        client=client,
                        policy=policy,
                        sleep=sleep,
                        generated_at=now(),
                    )
                )
    return outcomes


def _send_one(
    conn: psycopg.Connection,
    destination: Destination,
    settings: NotificationSettings,
    *,
    tenant_id: str,
    run_id: str,
    as_of: date | None,
    client: httpx.Client | None,
    policy: RetryPolicy | None,
    sleep: Sleep | None,
    generated_at: datetime,
) -> ChannelOutcome:
    channel = destination.channel
    store.lock_channel(conn, tenant_id, channel)
    min_severity = destination.min_severity or settings.min_severity
    changes = select_changes(store.alert_candidates(conn, tenant_id, channel), min_severity)
    notices = [n for n in store.queued_rule_notices(conn, tenant_id, run_id) if n.channel == channel]
    digest = Digest(
        tenant_id=tenant_id,
        run_id=run_id,
        as_of=as_of,
        generated_at=generated_at,
        changes=changes,
        rule_notices=notices,
        delivery_id=str(uuid.uuid4()),
    )
    record = webhook_payload(digest)  # the channel-neutral form, kept for audit
    common = {
        "tenant_id": tenant_id,
        "channel": channel,
        "target": destination.target,
        "run_id": run_id,
        "delivery_id": digest.delivery_id,
        "item_count": digest.item_count,
        "digest": record,
    }
    if digest.is_empty:
        notification_id = store.record_notification(conn, status="skipped", **common)
        return ChannelOutcome(channel, destination.target, "skipped", notification_id, digest.delivery_id)

    kwargs: dict[str, Any] = {"delivery_id": digest.delivery_id, "client": client, "policy": policy}
    if sleep is not None:
        kwargs["sleep"] = sleep
    result = deliver(destination, render(channel, digest), **kwargs)
    notification_id = store.record_notification(
        conn,
        status=result.status,
        attempts=result.attempts,
        last_status_code=result.status_code,
        error=result.error,
        **common,
    )
    if result.sent:
        store.mark_alerts_notified(conn, changes, channel, notification_id)
    store.set_rule_notice_status(conn, notices, result.status, notification_id=notification_id)
    return ChannelOutcome(
        channel,
        destination.target,
        result.status,
        notification_id,
        digest.delivery_id,
        item_count=digest.item_count,
        counts=digest.counts(),
        attempts=result.attempts,
        status_code=result.status_code,
        error=result.error,
    )
