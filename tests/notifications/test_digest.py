"""What a channel is told and how it is worded (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from pipeline.notifications import (
    AlertCandidate,
    Digest,
    RuleNotice,
    encode_body,
    select_changes,
    slack_payload,
    webhook_payload,
)

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def candidate(alert_id: int, severity: str = "HIGH", **overrides: object) -> AlertCandidate:
    values: dict[str, object] = {
        "alert_id": alert_id,
        "alert_type": "ROAS_DROP",
        "severity": severity,
        "status": "open",
        "platform": "meta",
        "account_id": "act_1",
        "entity_level": "campaign",
        "entity_id": f"c{alert_id}",
        "entity_name": f"Campaign {alert_id}",
        "title": f"ROAS down 40% on Campaign {alert_id}",
        "message": "ROAS 1.2 vs 2.0 expected",
        "metric": "roas",
        "current_value": 1.2,
        "baseline_value": 2.0,
        "first_detected_at": NOW,
        "last_detected_at": NOW,
    }
    values.update(overrides)
    return AlertCandidate(**values)  # type: ignore[arg-type]


def test_select_changes_sends_new_and_escalated_only_once() -> None:
    candidates = [
        candidate(1, "HIGH"),  # never told: new
        candidate(2, "CRITICAL", notified_severity="MEDIUM"),  # rose: escalated
        candidate(3, "HIGH", notified_severity="HIGH"),  # unchanged: nothing
        candidate(4, "MEDIUM", notified_severity="HIGH"),  # went down: nothing
        candidate(5, "LOW"),  # below the floor: nothing
        candidate(6, "HIGH", status="suppressed"),  # held on unhealthy data: nothing
        candidate(7, "HIGH", status="resolved", notified_severity="HIGH", resolved_by="auto"),  # resolved
        candidate(8, "HIGH", status="resolved"),  # resolved but never told: nothing
        candidate(9, "HIGH", status="resolved", notified_severity="HIGH", resolution_notified=True),
        candidate(10, "MEDIUM", status="acknowledged"),  # acknowledged but never told: new
    ]
    changes = select_changes(candidates, "MEDIUM")
    assert [(c.alert.alert_id, c.change) for c in changes] == [
        (2, "escalated"),
        (1, "new"),
        (7, "resolved"),
        (10, "new"),
    ]
    assert changes[0].previous_severity == "MEDIUM"
    assert [c.alert.alert_id for c in select_changes(candidates, "LOW") if c.change == "new"] == [1, 10, 5]


def test_digest_counts_and_summary_have_no_links() -> None:
    changes = select_changes(
        [candidate(1, "CRITICAL"), candidate(2, "HIGH"), candidate(3, "HIGH", notified_severity="LOW")],
        "MEDIUM",
    )
    notice = RuleNotice(rule_run_id=1, action_index=0, channel="slack", message="m", rule_id=3, rule_name="r")
    digest = Digest("default", "run-1", date(2026, 11, 14), NOW, changes, [notice], delivery_id="d-1")
    counts = digest.counts()
    assert counts["new"] == {"CRITICAL": 1, "HIGH": 1}
    assert counts["escalated"] == {"HIGH": 1}
    assert counts["by_severity"] == {"CRITICAL": 1, "HIGH": 2}
    assert counts["rule_notifications"] == 1
    summary = digest.summary()
    assert summary == (
        "2 new alerts (1 CRITICAL, 1 HIGH); 1 escalated alert (1 HIGH); 1 rule notification"
        " (data as of 2026-11-14)"
    )
    assert "http" not in summary
    assert Digest("default", None, None, NOW).summary() == "nothing new"


def test_slack_payload_is_bounded_and_escaped() -> None:
    storm = [candidate(i, ("CRITICAL", "HIGH", "MEDIUM")[i % 3]) for i in range(1, 601)]
    storm[0] = replace(storm[0], title="<!channel> <https://evil.example|click> & co")
    digest = Digest("default", "run-1", date(2026, 11, 14), NOW, select_changes(storm, "MEDIUM"))
    payload = slack_payload(digest)
    assert payload["text"].startswith("adsignal: 600 new alerts (200 CRITICAL, 200 HIGH, 200 MEDIUM)")
    blocks = payload["blocks"]
    assert len(blocks) <= 10  # Slack allows 50
    assert [b["type"] for b in blocks] == ["header", "section", "section", "section", "section", "context"]
    critical = blocks[2]["text"]["text"]
    assert critical.startswith(":rotating_light: *CRITICAL* — 200")
    assert critical.count("\n• ") == 5 and critical.endswith("_…and 195 more_")
    rendered = json.dumps(payload)
    assert "<!channel>" not in rendered and "<https://" not in rendered
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co" in rendered
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")


def test_slack_payload_shows_resolved_and_rule_notices() -> None:
    changes = select_changes(
        [
            candidate(1, "HIGH", status="resolved", notified_severity="HIGH", resolved_by="adsignal:auto"),
            candidate(2, "HIGH", status="resolved", notified_severity="HIGH", resolved_by="maria"),
        ],
        "MEDIUM",
    )
    notice = RuleNotice(
        1, 0, "slack", "Spend 7d > 100 and ROAS < 1 on 2 campaigns", rule_id=3, rule_name="Low ROAS"
    )
    sections = [
        b["text"]["text"]
        for b in slack_payload(Digest("t", "r", None, NOW, changes, [notice]))["blocks"]
        if b["type"] == "section"
    ]
    assert sections[1].startswith(":white_check_mark: *Resolved* — 2")
    assert "_recovered_" in sections[1] and "_resolved by maria_" in sections[1]
    assert (
        sections[2]
        == ":clipboard: *Rule notifications* — 1\n• *Low ROAS*: Spend 7d &gt; 100 and ROAS &lt; 1 on 2 campaigns"
    )


def test_webhook_payload_schema_caps_items_and_is_strict_json() -> None:
    storm = [candidate(i, "HIGH") for i in range(1, 251)]
    storm[0] = replace(storm[0], current_value=float("nan"), baseline_value=float("inf"))
    digest = Digest(
        "default", "run-1", date(2026, 11, 14), NOW, select_changes(storm, "MEDIUM"), delivery_id="d-1"
    )
    payload = webhook_payload(digest)
    assert payload["schema"] == "adsignal.digest" and payload["schema_version"] == 1
    assert payload["delivery_id"] == "d-1" and payload["as_of"] == "2026-11-14"
    assert payload["counts"]["new"] == {"HIGH": 250}
    assert len(payload["alerts"]) == 200 and payload["alerts_omitted"] == 50
    first = payload["alerts"][0]
    assert first["alert_id"] == 1 and first["change"] == "new" and first["current_value"] is None
    assert first["baseline_value"] is None and first["first_detected_at"] == NOW.isoformat()
    assert json.loads(encode_body(payload)) == payload  # no NaN: strict parsers accept it


@pytest.mark.parametrize("severity", ["LOW", "MEDIUM", "HIGH", "CRITICAL"])
def test_minimum_severity_is_inclusive(severity: str) -> None:
    assert [c.change for c in select_changes([candidate(1, severity)], severity)] == ["new"]
