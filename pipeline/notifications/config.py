"""Where notifications go: each tenant's stored channels (``pipeline.notifications.tenant_channels``)
or, for the default tenant without stored ones, the environment:

- ``ADSIGNAL_SLACK_WEBHOOK_URL``: a Slack incoming-webhook URL (``https://hooks.slack.com/services/...``).
- ``ADSIGNAL_WEBHOOK_URL``: any HTTP(S) endpoint taking the generic JSON digest.
- ``ADSIGNAL_WEBHOOK_SECRET``: optional; when set, webhook deliveries are signed (HMAC-SHA256).
- ``ADSIGNAL_NOTIFY_MIN_SEVERITY``: LOW / MEDIUM / HIGH / CRITICAL, default MEDIUM: alerts below it
  are not sent (until they escalate to it).

Webhook URLs are secrets (Slack's path is its token): :class:`Destination` never shows its URL in
``repr``/``str``, and :func:`redacted_target` gives the scheme and host that may be logged or stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import httpx

Channel = Literal["slack", "webhook"]
CHANNELS: tuple[Channel, ...] = ("slack", "webhook")

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
DEFAULT_MIN_SEVERITY = "MEDIUM"

SLACK_URL_ENV = "ADSIGNAL_SLACK_WEBHOOK_URL"
WEBHOOK_URL_ENV = "ADSIGNAL_WEBHOOK_URL"
WEBHOOK_SECRET_ENV = "ADSIGNAL_WEBHOOK_SECRET"
MIN_SEVERITY_ENV = "ADSIGNAL_NOTIFY_MIN_SEVERITY"


class NotificationConfigError(ValueError):
    """A notification setting is unusable; the message names the variable, never its value."""


def severity_rank(severity: str) -> int:
    """0 for LOW up to 3 for CRITICAL."""
    try:
        return SEVERITIES.index(severity.upper())
    except ValueError:
        raise ValueError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}") from None


def redacted_target(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what may be logged or stored about a secret URL."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


@dataclass(frozen=True)
class Destination:
    """One configured channel. ``url`` and ``signing_secret`` are secrets: kept out of repr."""

    channel: Channel
    url: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    min_severity: str | None = None  # the channel's own; else the settings'

    @property
    def target(self) -> str:
        return redacted_target(self.url)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Literal values that must never appear in a message, log line or stored text."""
        return tuple(s for s in (self.url, self.signing_secret) if s)

    def __str__(self) -> str:
        return f"{self.channel} ({self.target})"


@dataclass(frozen=True)
class NotificationSettings:
    destinations: tuple[Destination, ...]
    min_severity: str = DEFAULT_MIN_SEVERITY

    @property
    def configured(self) -> bool:
        return bool(self.destinations)


NOT_CONFIGURED_MESSAGE = (
    f"notifications are not configured: set {SLACK_URL_ENV} and/or {WEBHOOK_URL_ENV} to send a digest per run"
)


def checked_url(value: str, name: str) -> str:
    """``value`` if it is an http(s) URL with a host; the error names ``name``, never the value."""
    try:
        parsed = httpx.URL(value)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise NotificationConfigError(f"{name} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise NotificationConfigError(f"{name} must be an http(s) URL with a host")
    return value


def checked_severity(value: str, name: str) -> str:
    severity = value.strip().upper()
    if severity not in SEVERITIES:
        raise NotificationConfigError(
            f"{name}={value!r} is not a severity; expected one of {', '.join(SEVERITIES)}"
        )
    return severity


def settings_from_env(environ: Mapping[str, str] | None = None) -> NotificationSettings:
    """Destinations and minimum severity from the environment (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    destinations: list[Destination] = []
    slack_url = env.get(SLACK_URL_ENV, "").strip()
    if slack_url:
        destinations.append(Destination("slack", checked_url(slack_url, SLACK_URL_ENV)))
    webhook_url = env.get(WEBHOOK_URL_ENV, "").strip()
    secret = env.get(WEBHOOK_SECRET_ENV, "").strip() or None
    if webhook_url:
        destinations.append(Destination("webhook", checked_url(webhook_url, WEBHOOK_URL_ENV), secret))
    elif secret:
        raise NotificationConfigError(f"{WEBHOOK_SECRET_ENV} is set but {WEBHOOK_URL_ENV} is not")
    min_severity = env.get(MIN_SEVERITY_ENV, "").strip()
    return NotificationSettings(
        tuple(destinations),
        checked_severity(min_severity, MIN_SEVERITY_ENV) if min_severity else DEFAULT_MIN_SEVERITY,
    )
