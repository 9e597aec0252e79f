"""Slack and generic-webhook notifications: one digest per channel per run, never a storm.

- :mod:`~pipeline.notifications.config`: destinations and minimum severity from the environment;
- :mod:`~pipeline.notifications.digest`: what a channel is told (new, escalated, resolved alerts and
  the rules' notify actions) and how it is worded (pure: no HTTP, no database);
- :mod:`~pipeline.notifications.delivery`: the POST over httpx with retries, backoff and signatures.

The database side (candidates, notification state, the ``app.notifications`` log) is
``pipeline.warehouse.notifications_store``; the Dagster asset is ``pipeline.defs.notifications``.
"""

from __future__ import annotations

from typing import Any

from pipeline.notifications.config import (
    CHANNELS,
    NOT_CONFIGURED_MESSAGE,
    Channel,
    Destination,
    NotificationConfigError,
    NotificationSettings,
    redacted_target,
    settings_from_env,
    severity_rank,
)
from pipeline.notifications.delivery import (
    DeliveryResult,
    RetryPolicy,
    deliver,
    encode_body,
    sign,
    verify_signature,
)
from pipeline.notifications.digest import (
    AlertCandidate,
    AlertChange,
    Digest,
    RuleNotice,
    select_changes,
    slack_payload,
    webhook_payload,
)


def render(channel: Channel, digest: Digest) -> dict[str, Any]:
    """The request body for ``channel``."""
    return slack_payload(digest) if channel == "slack" else webhook_payload(digest)


__all__ = [
    "CHANNELS",
    "NOT_CONFIGURED_MESSAGE",
    "AlertCandidate",
    "AlertChange",
    "Channel",
    "DeliveryResult",
    "Destination",
    "Digest",
    "NotificationConfigError",
    "NotificationSettings",
    "RetryPolicy",
    "RuleNotice",
    "deliver",
    "encode_body",
    "redacted_target",
    "render",
    "select_changes",
    "settings_from_env",
    "severity_rank",
    "sign",
    "slack_payload",
    "verify_signature",
    "webhook_payload",
]
