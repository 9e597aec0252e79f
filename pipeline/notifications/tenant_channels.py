"""Each tenant's own notification channels: its alerts go to its Slack / webhook, never another's.

A tenant's channels live in ``app.notification_channels``, the URL (a Slack webhook's path is its
token) and a webhook's signing secret encrypted together like connection credentials, with the
redacted target beside them for display. Which settings a tenant's digest uses:

- the tenant's stored channels, when it has any (each with its own minimum severity, else the
  environment's ``ADSIGNAL_NOTIFY_MIN_SEVERITY``, else MEDIUM);
- else, for the default tenant only, the environment (``ADSIGNAL_SLACK_WEBHOOK_URL``, ...): a
  single-tenant warehouse configures nothing more;
- else nothing: another tenant's alerts are never sent to the environment's channels, which belong
  to whoever runs the warehouse.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import psycopg

from pipeline.config import DEFAULT_TENANT
from pipeline.notifications.config import (
    DEFAULT_MIN_SEVERITY,
    MIN_SEVERITY_ENV,
    Channel,
    Destination,
    NotificationConfigError,
    NotificationSettings,
    checked_severity,
    checked_url,
    settings_from_env,
)
from pipeline.secret_box import decrypt_json, encrypt_json
from pipeline.warehouse import notifications_store as store
from pipeline.warehouse.audit import audit


def set_channel(
    conn: psycopg.Connection,
    tenant_id: str,
    channel: Channel,
    url: str,
    *,
    signing_secret: str | None = None,
    min_severity: str | None = None,
    actor: str,
) -> Destination:
    """Store (or replace) ``tenant_id``'s ``channel`` (audited, target only); the returned destination's
    str() is safe to show."""
    url = checked_url(url.strip(), f"the {channel} URL")
    if signing_secret and channel != "webhook":
        raise NotificationConfigError("only a webhook is signed; Slack checks its own URL")
    severity = checked_severity(min_severity, "--min-severity") if min_severity else None
    secret = {"url": url, "signing_secret": signing_secret or None}
    destination = Destination(channel, url, signing_secret or None, severity)
    with conn.transaction():
        store.upsert_channel(
            conn,
            tenant_id=tenant_id,
            channel=channel,
            secret_encrypted=encrypt_json(secret),
            target=destination.target,
            min_severity=severity,
        )
        details = {"target": destination.target, "signed": bool(signing_secret), "min_severity": severity}
        audit(conn, tenant_id=tenant_id, actor=actor, event="notification_channel.set",
              object_type="notification_channel", object_id=channel, details=details)  # fmt: skip
    return destination


def remove_channel(conn: psycopg.Connection, tenant_id: str, channel: Channel, *, actor: str) -> bool:
    with conn.transaction():
        removed = store.delete_channel(conn, tenant_id, channel)
        if removed:
            audit(conn, tenant_id=tenant_id, actor=actor, event="notification_channel.removed",
                  object_type="notification_channel", object_id=channel)  # fmt: skip
    return removed


def channel_listing(conn: psycopg.Connection, tenant_id: str) -> list[tuple[Channel, str, str | None]]:
    """(channel, redacted target, minimum severity) of a tenant's stored channels: safe to show."""
    return [
        (channel, target, severity)
        for channel, _secret, target, severity in store.channel_rows(conn, tenant_id)
    ]


def stored_destinations(conn: psycopg.Connection, tenant_id: str) -> list[Destination]:
    destinations = []
    for channel, encrypted, _target, min_severity in store.channel_rows(conn, tenant_id):
        secret = decrypt_json(encrypted)
        destinations.append(Destination(channel, secret["url"], secret.get("signing_secret"), min_severity))
    return destinations


def settings_for_tenant(
    conn: psycopg.Connection, tenant_id: str, environ: Mapping[str, str] | None = None
) -> NotificationSettings:
    """Where ``tenant_id``'s digest goes (module docstring): its channels, the environment's, or none."""
    env = os.environ if environ is None else environ
    stored = stored_destinations(conn, tenant_id)
    if stored:
        default = env.get(MIN_SEVERITY_ENV, "").strip()
        severity = checked_severity(default, MIN_SEVERITY_ENV) if default else DEFAULT_MIN_SEVERITY
        return NotificationSettings(tuple(stored), severity)
    if tenant_id == DEFAULT_TENANT:
        return settings_from_env(env)
    return NotificationSettings(())
