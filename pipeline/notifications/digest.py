"""What a channel is told in a run, and how it is worded: pure functions, no HTTP, no database.

A run sends at most one digest per channel. It holds:

- alerts the channel has not heard of yet (``new``) at or above the minimum severity,
- alerts whose severity rose above what the channel was last told (``escalated``),
- alerts the channel was told about that have since been resolved (``resolved``: recovered
  automatically or closed by a person),
- the rules' notify actions of this run for that channel.

An alert whose severity is unchanged (or went down) is not sent again. :func:`select_changes`
decides this from each alert's row and the channel's notification state; :func:`slack_payload` and
:func:`webhook_payload` word the digest for Slack (Block Kit) and for the generic JSON webhook.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pipeline.notifications.config import SEVERITIES, Channel, severity_rank

Change = Literal["new", "escalated", "resolved"]

WEBHOOK_SCHEMA = "adsignal.digest"
WEBHOOK_SCHEMA_VERSION = 1
# Bounded bodies whatever the incident size: counts always cover everything, items are the top ones.
WEBHOOK_MAX_ALERTS = 200
WEBHOOK_MAX_RULE_NOTICES = 200
SLACK_TOP_ITEMS_PER_SEVERITY = 5
SLACK_TOP_RULE_NOTICES = 10
SLACK_SECTION_MAX_CHARS = 3000  # Block Kit limit for a section's text
SLACK_HEADER_MAX_CHARS = 150  # Block Kit limit for a header's plain text

SEVERITY_EMOJI = {
    "CRITICAL": ":rotating_light:",
    "HIGH": ":red_circle:",
    "MEDIUM": ":large_orange_circle:",
    "LOW": ":white_circle:",
}
LIVE_STATUSES = ("open", "acknowledged")


@dataclass(frozen=True)
class AlertCandidate:
    """An alert row with what one channel was already told about it (``notified_severity`` None: nothing)."""

    alert_id: int
    alert_type: str
    severity: str
    status: str
    platform: str
    account_id: str | None
    entity_level: str
    entity_id: str
    entity_name: str | None
    title: str
    message: str
    metric: str | None = None
    current_value: float | None = None
    baseline_value: float | None = None
    first_detected_at: datetime | None = None
    last_detected_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    notified_severity: str | None = None
    resolution_notified: bool = False


@dataclass(frozen=True)
class AlertChange:
    """One alert as the digest reports it."""

    change: Change
    alert: AlertCandidate
    previous_severity: str | None = None


@dataclass(frozen=True)
class RuleNotice:
    """A rule's queued notify action (``app.rule_runs.actions[action_index]``) for one channel."""

    rule_run_id: int
    action_index: int
    channel: Channel
    message: str
    rule_id: int | None = None
    rule_name: str | None = None
    target: str | None = None
    # The matched entity, when the rule names one (platform, account_id, campaign_id, campaign_name).
    entity: dict[str, str | None] = field(default_factory=dict)


def select_changes(candidates: Iterable[AlertCandidate], min_severity: str) -> list[AlertChange]:
    """The alerts worth telling a channel about, most severe first."""
    floor = severity_rank(min_severity)
    changes: list[AlertChange] = []
    for alert in candidates:
        if alert.status in LIVE_STATUSES:
            if severity_rank(alert.severity) < floor:
                continue
            if alert.notified_severity is None:
                changes.append(AlertChange("new", alert))
            elif severity_rank(alert.severity) > severity_rank(alert.notified_severity):
                changes.append(AlertChange("escalated", alert, previous_severity=alert.notified_severity))
        elif (
            alert.status == "resolved"
            and alert.notified_severity is not None
            and not alert.resolution_notified
        ):
            changes.append(AlertChange("resolved", alert))
    return sorted(changes, key=_change_order)


_CHANGE_ORDER = {"escalated": 0, "new": 1, "resolved": 2}


def _change_order(change: AlertChange) -> tuple[int, int, int]:
    return (-severity_rank(change.alert.severity), _CHANGE_ORDER[change.change], change.alert.alert_id)


@dataclass(frozen=True)
class Digest:
    """Everything one channel is told in one run."""

    tenant_id: str
    run_id: str | None
    as_of: date | None
    generated_at: datetime
    changes: Sequence[AlertChange] = ()
    rule_notices: Sequence[RuleNotice] = ()
    delivery_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.changes and not self.rule_notices

    @property
    def item_count(self) -> int:
        return len(self.changes) + len(self.rule_notices)

    @property
    def raised(self) -> list[AlertChange]:
        """New and escalated alerts (what needs attention), most severe first."""
        return [c for c in self.changes if c.change != "resolved"]

    @property
    def resolved(self) -> list[AlertChange]:
        return [c for c in self.changes if c.change == "resolved"]

    def counts(self) -> dict[str, Any]:
        """Counts by change and severity (severities in descending order, zeros left out)."""
        by = {
            kind: Counter(c.alert.severity for c in self.changes if c.change == kind)
            for kind in _CHANGE_ORDER
        }
        return {
            "new": _by_severity(by["new"]),
            "escalated": _by_severity(by["escalated"]),
            "resolved": sum(by["resolved"].values()),
            "rule_notifications": len(self.rule_notices),
            "by_severity": _by_severity(by["new"] + by["escalated"]),
        }

    def summary(self) -> str:
        """One plain line without links, e.g. ``3 new alerts (1 CRITICAL, 2 HIGH), 1 escalated ...``."""
        counts = self.counts()
        parts: list[str] = []
        for kind, label in (("new", "new"), ("escalated", "escalated")):
            severities = counts[kind]
            total = sum(severities.values())
            if total:
                detail = ", ".join(f"{n} {severity}" for severity, n in severities.items())
                parts.append(f"{total} {label} alert{'s' if total != 1 else ''} ({detail})")
        if counts["resolved"]:
            parts.append(f"{counts['resolved']} resolved")
        if counts["rule_notifications"]:
            n = counts["rule_notifications"]
            parts.append(f"{n} rule notification{'s' if n != 1 else ''}")
        text = "; ".join(parts) if parts else "nothing new"
        return f"{text} (data as of {self.as_of.isoformat()})" if self.as_of else text


def _by_severity(counter: Counter[str]) -> dict[str, int]:
    return {severity: counter[severity] for severity in reversed(SEVERITIES) if counter[severity]}


# --------------------------------------------------------------------------------------------------
# Generic webhook
# --------------------------------------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or Infinity; a receiver's strict parser would reject the whole digest.
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_item(change: AlertChange) -> dict[str, Any]:
    alert = change.alert
    return {
        "alert_id": alert.alert_id,
        "change": change.change,
        "severity": alert.severity,
        "previous_severity": change.previous_severity,
        "status": alert.status,
        "alert_type": alert.alert_type,
        "platform": alert.platform,
        "account_id": alert.account_id,
        "entity_level": alert.entity_level,
        "entity_id": alert.entity_id,
        "entity_name": alert.entity_name,
        "title": alert.title,
        "message": alert.message,
        "metric": alert.metric,
        "current_value": _finite(alert.current_value),
        "baseline_value": _finite(alert.baseline_value),
        "first_detected_at": _iso(alert.first_detected_at),
        "last_detected_at": _iso(alert.last_detected_at),
        "resolved_at": _iso(alert.resolved_at),
        "resolved_by": alert.resolved_by,
    }


def rule_notice_item(notice: RuleNotice) -> dict[str, Any]:
    return {
        "rule_id": notice.rule_id,
        "rule_name": notice.rule_name,
        "rule_run_id": notice.rule_run_id,
        "message": notice.message,
        "target": notice.target,
        "entity": dict(notice.entity) or None,
    }


def webhook_payload(
    digest: Digest, max_alerts: int = WEBHOOK_MAX_ALERTS, max_rule_notices: int = WEBHOOK_MAX_RULE_NOTICES
) -> dict[str, Any]:
    """The generic webhook's JSON body (schema ``adsignal.digest`` version 1; see docs/notifications.md)."""
    alerts = [alert_item(change) for change in digest.changes[:max_alerts]]
    notices = [rule_notice_item(notice) for notice in digest.rule_notices[:max_rule_notices]]
    return {
        "schema": WEBHOOK_SCHEMA,
        "schema_version": WEBHOOK_SCHEMA_VERSION,
        "delivery_id": digest.delivery_id,
        "tenant_id": digest.tenant_id,
        "run_id": digest.run_id,
        "as_of": _iso(digest.as_of),
        "generated_at": _iso(digest.generated_at),
        "summary": digest.summary(),
        "counts": digest.counts(),
        "alerts": alerts,
        "alerts_omitted": max(0, len(digest.changes) - len(alerts)),
        "rule_notifications": notices,
        "rule_notifications_omitted": max(0, len(digest.rule_notices) - len(notices)),
    }


# --------------------------------------------------------------------------------------------------
# Slack (incoming webhook, Block Kit)
# --------------------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Escape Slack's control characters so names cannot form links or mentions (``<!channel>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(alert: AlertCandidate) -> str:
    scope = [alert.platform]
    if alert.account_id:
        scope.append(alert.account_id)
    return " · ".join(scope)


def _alert_line(change: AlertChange) -> str:
    alert = change.alert
    if change.change == "escalated":
        tag = f"escalated from {change.previous_severity}"
    elif change.change == "resolved":
        # The lifecycle resolves as "adsignal:..." when the metric recovered; people resolve by name.
        if not alert.resolved_by or alert.resolved_by.startswith("adsignal:"):
            tag = "recovered"
        else:
            tag = f"resolved by {alert.resolved_by}"
    else:
        tag = "new"
    return f"• *{slack_escape(alert.title)}* ({slack_escape(_where(alert))}) — _{tag}_"


def _section(lines: Sequence[str], more: int) -> dict[str, Any]:
    text = "\n".join(lines)
    if more:
        text += f"\n_…and {more} more_"
    return {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(text, SLACK_SECTION_MAX_CHARS)}}


def slack_payload(
    digest: Digest,
    top_per_severity: int = SLACK_TOP_ITEMS_PER_SEVERITY,
    top_rule_notices: int = SLACK_TOP_RULE_NOTICES,
) -> dict[str, Any]:
    """Incoming-webhook body: ``text`` (the notification line) and Block Kit ``blocks``.

    Severity sections list the top items each, the rest as a count; the message stays well under
    Slack's 50-block limit whatever the number of alerts.
    """
    as_of = f" — data as of {digest.as_of.isoformat()}" if digest.as_of else ""
    summary = digest.summary()
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _truncate(f"adsignal alerts{as_of}", SLACK_HEADER_MAX_CHARS),
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(summary)}},
    ]
    raised = digest.raised
    for severity in reversed(SEVERITIES):
        items = [c for c in raised if c.alert.severity == severity]
        if not items:
            continue
        heading = f"{SEVERITY_EMOJI[severity]} *{severity}* — {len(items)}"
        lines = [heading, *(_alert_line(c) for c in items[:top_per_severity])]
        blocks.append(_section(lines, len(items) - min(len(items), top_per_severity)))
    resolved = digest.resolved
    if resolved:
        lines = [
            f":white_check_mark: *Resolved* — {len(resolved)}",
            *map(_alert_line, resolved[:top_per_severity]),
        ]
        blocks.append(_section(lines, len(resolved) - min(len(resolved), top_per_severity)))
    notices = list(digest.rule_notices)
    if notices:
        lines = [f":clipboard: *Rule notifications* — {len(notices)}"]
        for notice in notices[:top_rule_notices]:
            name = slack_escape(notice.rule_name or f"rule {notice.rule_id}")
            lines.append(f"• *{name}*: {slack_escape(notice.message)}")
        blocks.append(_section(lines, len(notices) - min(len(notices), top_rule_notices)))
    context = f"tenant {digest.tenant_id}" + (f" · run {digest.run_id[:8]}" if digest.run_id else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(context)}]})
    return {"text": _truncate(f"adsignal: {summary}", SLACK_SECTION_MAX_CHARS), "blocks": blocks}
