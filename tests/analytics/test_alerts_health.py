"""Signal-health gating: business alerts on unhealthy data are held, data alerts raised instead."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from pipeline.analytics.alerting import AlertType, EntityLevel, Severity, active_alerts, detect_alerts
from tests.analytics.test_alerts import AS_OF, constant_campaign

YESTERDAY = AS_OF - timedelta(days=1)
BROKEN = {1: (100.0, 0.0, 0.0), 2: (100.0, 0.0, 0.0)}  # two days of spend without conversions


def health_rows(
    account_id: str,
    bad: dict[date, tuple[str, list[dict[str, str]]]] | None = None,
    *,
    days: int = 35,
    scores: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """One healthy row per day for the account; `bad` overrides days with (status, issues)."""
    rows = []
    for age in range(days, 0, -1):
        day = AS_OF - timedelta(days=age)
        status, issues = (bad or {}).get(day, ("healthy", []))
        row_scores = {"freshness_score": 100.0, "completeness_score": 100.0, "accuracy_score": 100.0}
        if status != "healthy":
            row_scores |= scores or {"completeness_score": 55.0}
        rows.append(
            {
                "date_day": day,
                "platform": "meta",
                "account_id": account_id,
                "health_score": min(row_scores.values()),
                "status": status,
                **row_scores,
                "issues": issues,
            }
        )
    return rows


def two_accounts() -> pd.DataFrame:
    return pd.concat(
        [constant_campaign("A", BROKEN, account_id="111"), constant_campaign("B", BROKEN, account_id="222")],
        ignore_index=True,
    )


def test_degraded_account_holds_business_alerts_and_raises_a_data_alert() -> None:
    missing = [{"check": "completeness_missing_campaigns", "detail": "3 of 12 campaigns absent vs yesterday"}]
    health = pd.DataFrame(health_rows("111", {YESTERDAY: ("degraded", missing)}) + health_rows("222"))

    alerts = detect_alerts(two_accounts(), AS_OF, health=health)

    # Account 222 is healthy: its campaign alert reaches people, with the health it was based on.
    active = active_alerts(alerts)
    assert [(a.alert_type, a.account_id, a.entity_level) for a in active] == [
        (AlertType.ZERO_CONVERSIONS, "222", EntityLevel.CAMPAIGN),
        (AlertType.DATA_INCOMPLETE, "111", EntityLevel.ACCOUNT),
    ]
    healthy = active[0].evidence["signal_health"]
    assert healthy["status"] == "healthy"
    assert healthy["source"] == "fct_signal_health_daily"
    assert [d["date"] for d in healthy["days"]] == ["2026-11-14", "2026-11-15"]
    assert healthy["baseline"]["degraded_days"] == 0

    # Account 111's business alert is held, with the reason, and its evidence says why.
    [held] = [a for a in alerts if a.entity_id == "A" and a.alert_type == AlertType.ZERO_CONVERSIONS]
    assert held.entity_level == EntityLevel.CAMPAIGN
    assert held.suppressed_reason == (
        "held: signal health degraded for meta account 111 on 2026-11-15 "
        "(degraded: completeness_missing_campaigns)"
    )
    assert held.evidence["signal_health"]["status"] == "degraded"

    # The data alert names the problem, the days and the issue.
    [data] = [a for a in alerts if a.alert_type == AlertType.DATA_INCOMPLETE]
    assert (data.account_id, data.entity_id, data.campaign_id) == ("111", "111", None)
    assert data.window_start == data.window_end == YESTERDAY
    assert data.metric == "completeness_score"
    assert data.value == 55.0
    assert data.severity == Severity.MEDIUM
    assert data.suppressed_reason is None
    assert data.evidence["issues"] == [missing[0] | {"date": "2026-11-15"}]
    assert "Business alerts on this account are held" in data.message
    json.dumps([a.evidence for a in alerts])


@pytest.mark.parametrize(
    ("check", "scores", "expected"),
    [
        ("freshness_lag_hours", {"freshness_score": 20.0}, AlertType.DATA_STALE),
        ("accuracy_reconciliation", {"accuracy_score": 40.0}, AlertType.DATA_INCONSISTENT),
        ("completeness_row_count", {"completeness_score": 30.0}, AlertType.DATA_INCOMPLETE),
        ("something_new", {"accuracy_score": 60.0, "freshness_score": 90.0}, AlertType.DATA_INCONSISTENT),
    ],
)
def test_issues_map_to_data_alert_types(check: str, scores: dict[str, float], expected: AlertType) -> None:
    issues = [{"check": check, "detail": "..."}]
    health = pd.DataFrame(health_rows("111", {YESTERDAY: ("unhealthy", issues)}, scores=scores))

    alerts = detect_alerts(constant_campaign("A", {}, account_id="111"), AS_OF, health=health)

    [data] = alerts
    assert data.alert_type == expected
    assert data.severity == Severity.HIGH  # unhealthy
    assert data.evidence["status"] == "unhealthy"


def test_degraded_day_without_issues_is_named_by_its_weakest_score() -> None:
    health = pd.DataFrame(health_rows("111", {YESTERDAY: ("degraded", [])}, scores={"freshness_score": 35.0}))
    [data] = detect_alerts(constant_campaign("A", {}, account_id="111"), AS_OF, health=health)
    assert data.alert_type == AlertType.DATA_STALE
    assert data.value == 35.0


def test_an_old_degraded_day_raises_a_data_alert_but_does_not_gate() -> None:
    long_ago = AS_OF - timedelta(days=12)
    issues = [{"check": "completeness_missing_day", "detail": "no rows"}]
    health = pd.DataFrame(health_rows("111", {long_ago: ("unhealthy", issues)}))

    alerts = detect_alerts(constant_campaign("A", BROKEN, account_id="111"), AS_OF, health=health)

    business = [a for a in active_alerts(alerts) if not a.alert_type.is_data_alert]
    [alert] = business
    assert alert.alert_type == AlertType.ZERO_CONVERSIONS
    assert alert.evidence["signal_health"]["status"] == "healthy"
    assert alert.evidence["signal_health"]["baseline"]["degraded_days"] == 1
    # The gap itself is news: a data alert names the day, one level below a gap in the scored days.
    [data] = [a for a in alerts if a.alert_type.is_data_alert]
    assert data.alert_type == AlertType.DATA_INCOMPLETE
    assert data.suppressed_reason is None
    assert data.window_start == data.window_end == long_ago
    assert data.evidence["affected_days"] == [long_ago.isoformat()]
    assert data.evidence["in_scored_days"] is False
    assert data.severity == Severity.MEDIUM  # unhealthy (HIGH) but outside the scored days
    assert "held" not in data.message and long_ago.isoformat() in data.message


def test_a_degraded_day_older_than_the_detection_history_is_not_reported() -> None:
    too_old = AS_OF - timedelta(days=33)  # the detector reads 28 + 4 days
    health = pd.DataFrame(health_rows("111", {too_old: ("degraded", [])}))
    alerts = detect_alerts(constant_campaign("A", {}, account_id="111"), AS_OF, health=health)
    assert not [a for a in alerts if a.alert_type.is_data_alert]


def test_account_without_health_facts_is_not_gated_but_says_so() -> None:
    health = pd.DataFrame(health_rows("999"))
    [alert] = active_alerts(
        detect_alerts(constant_campaign("A", BROKEN, account_id="111"), AS_OF, health=health)
    )
    assert alert.evidence["signal_health"]["status"] == "unknown"
    assert alert.evidence["signal_health"]["days_without_health_facts"] == 2


def test_issues_as_json_text_and_bad_statuses() -> None:
    issues = json.dumps([{"check": "freshness", "detail": "last sync 30 h ago"}])
    rows = health_rows("111", {YESTERDAY: ("degraded", [])})
    rows[-1]["issues"] = issues
    [data] = detect_alerts(constant_campaign("A", {}, account_id="111"), AS_OF, health=pd.DataFrame(rows))
    assert data.alert_type == AlertType.DATA_STALE
    assert data.evidence["issues"][0]["detail"] == "last sync 30 h ago"

    rows[-1]["status"] = "broken"
    with pytest.raises(ValueError, match="broken"):
        detect_alerts(constant_campaign("A", {}, account_id="111"), AS_OF, health=pd.DataFrame(rows))
