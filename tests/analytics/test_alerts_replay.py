"""Replay: every morning of a range scored in order, with the alert lifecycle, from one frame.

A small account history with known incidents (a tracking break, a conversion-rate drop, an
overspend, a missing day with degraded signal health, a campaign that starts midway and one that
is renamed); mature data, as a backtest over imported history reads it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.analytics.alerting import (
    AlertConfig,
    AlertConfigError,
    AlertLifecycle,
    AlertType,
    Check,
    Detection,
    EntityLevel,
    alert_config,
    evaluate_alerts,
    history_frame,
    load_alert_config,
    replay_alerts,
    replay_rules,
    summary_frame,
)
from pipeline.analytics.alerting.replay import AlertEpisode
from pipeline.analytics.rules import parse_rules

START, END = date(2026, 9, 1), date(2026, 11, 30)
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 29)  # complete days: mornings Nov 2 .. Nov 30
BREAK = (date(2026, 11, 10), date(2026, 11, 12))  # C1: no conversions
DROP = (date(2026, 11, 18), date(2026, 11, 21))  # C2: 70 % fewer conversions
OVERSPEND = (date(2026, 11, 24), date(2026, 11, 25))  # C5: twice its budget
MISSING = date(2026, 10, 30)  # account 222 has no rows that day


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def within(day: date, span: tuple[date, date]) -> bool:
    return span[0] <= day <= span[1]


def history(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Campaign days, budgets and signal health of two accounts (as the marts hold them)."""
    rng = np.random.default_rng(seed)
    campaigns = [
        ("C1", "111", 400.0, 0.05, START),
        ("C2", "111", 300.0, 0.06, START),
        ("C3", "111", 200.0, 0.04, START),
        ("C4", "111", 250.0, 0.05, date(2026, 10, 20)),  # starts midway: no baseline at first
        ("C5", "222", 150.0, 0.05, START),
        ("C6", "222", 350.0, 0.05, START),
    ]
    rows = []
    for campaign, account, daily_spend, conversion_rate, start in campaigns:
        for day in days(start, END):
            if account == "222" and day == MISSING:
                continue
            spend = daily_spend * float(rng.lognormal(0, 0.08)) * (0.9 if day.weekday() >= 5 else 1.0)
            if campaign == "C5" and within(day, OVERSPEND):
                spend *= 2.0
            clicks = int(rng.poisson(spend / 0.8))
            conversions = int(rng.poisson(spend * conversion_rate))
            if campaign == "C1" and within(day, BREAK):
                conversions = 0
            if campaign == "C2" and within(day, DROP):
                conversions = int(rng.binomial(conversions, 0.3))
            renamed = campaign == "C3" and day >= date(2026, 11, 5)
            rows.append(
                {
                    "date_day": day,
                    "platform": "meta",
                    "account_id": account,
                    "campaign_id": campaign,
                    "campaign_name": f"Campaign {campaign}" + (" (renamed)" if renamed else ""),
                    "currency": "EUR",
                    "spend": round(spend, 2),
                    "impressions": clicks * 60,
                    "clicks": clicks,
                    "conversions": float(conversions),
                    "conversion_value": round(conversions * 60.0 * float(rng.lognormal(0, 0.05)), 2),
                }
            )
    budgets = pd.DataFrame(
        [
            {
                "platform": "meta",
                "account_id": "222",
                "campaign_id": "C5",
                "daily_budget": 160.0,
                "status": "ACTIVE",
            }
        ]
    )
    health = [
        {
            "date_day": day,
            "platform": "meta",
            "account_id": account,
            "status": "degraded" if bad else "healthy",
            "health_score": 60.0 if bad else 100.0,
            "freshness_score": 100.0,
            "completeness_score": 20.0 if bad else 100.0,
            "accuracy_score": 100.0,
            "issues": [{"check": "completeness_missing_day", "detail": "no rows"}] if bad else [],
        }
        for account in ("111", "222")
        for day in days(START, END)
        for bad in [account == "222" and day == MISSING]
    ]
    return pd.DataFrame(rows), budgets, pd.DataFrame(health)


FRAME, BUDGETS, HEALTH = history()


@pytest.fixture(scope="module")
def replay() -> object:
    return replay_alerts(FRAME, FIRST, LAST, budgets=BUDGETS, health=HEALTH, checks="all")


def test_every_replayed_morning_equals_a_separate_run(replay: object) -> None:
    assert [m for m, _ in replay.mornings] == [d + timedelta(days=1) for d in days(FIRST, LAST)]
    for as_of, detection in replay.mornings:
        alone = evaluate_alerts(FRAME, as_of, budgets=BUDGETS, health=HEALTH)
        assert detection.alert_types == alone.alert_types
        assert [(a, a.evidence) for a in detection.alerts] == [(a, a.evidence) for a in alone.alerts], as_of
        assert [(c, c.evidence) for c in detection.cleared] == [(c, c.evidence) for c in alone.cleared]


def episodes_of(replay: object, alert_type: str, entity_id: str) -> list[AlertEpisode]:
    return [e for e in replay.history if e.key[0] == alert_type and e.key[3] == entity_id]


def test_the_history_opens_updates_and_resolves_alerts_morning_by_morning(replay: object) -> None:
    # The tracking break: detected every morning it lasted, resolved the morning after it ended.
    [broken] = episodes_of(replay, "ZERO_CONVERSIONS", "C1")
    assert broken.mornings == [d + timedelta(days=1) for d in days(*BREAK)]
    assert broken.resolved_on == BREAK[1] + timedelta(days=2)
    assert broken.recovery is not None and broken.recovery.evidence["value"] > 0
    assert broken.first_alert.window_start == BREAK[0]
    # The conversion-rate drop and the overspend open within a day of starting, and resolve.
    [dropped] = episodes_of(replay, "ROAS_DROP", "C2")
    assert dropped.opened_on - timedelta(days=1) <= DROP[0] + timedelta(days=1)
    assert dropped.resolved_on is not None and dropped.resolved_on > DROP[1]
    [paced] = episodes_of(replay, "SPEND_PACING", "C5")
    assert paced.opened_on == OVERSPEND[0] + timedelta(days=1) and paced.resolved_on is not None
    # The missing day raises a data alert that stays open (the day never comes back).
    [data] = episodes_of(replay, "DATA_INCOMPLETE", "222")
    assert data.is_live and data.first_alert.evidence["affected_days"] == [MISSING.isoformat()]
    # Steady campaigns, including the renamed one and the late starter, stay quiet.
    assert not [e for e in replay.history if e.key[3] in ("C3", "C4", "C6")]
    # One live alert per scope at any time; episodes of a scope never overlap.
    by_scope: dict[tuple, list[AlertEpisode]] = {}
    for episode in replay.history:
        by_scope.setdefault(episode.key, []).append(episode)
    for episodes in by_scope.values():
        for earlier, later in pairwise(episodes):
            assert earlier.resolved_on is not None and earlier.resolved_on <= later.opened_on


def test_checks_for_live_alerts_only_make_the_same_history(replay: object) -> None:
    fast = replay_alerts(FRAME, FIRST, LAST, budgets=BUDGETS, health=HEALTH)
    summary = [(e.key, e.mornings, e.resolved_on, e.peak_severity) for e in fast.history]
    assert summary == [(e.key, e.mornings, e.resolved_on, e.peak_severity) for e in replay.history]
    assert (
        sum(len(d.cleared) for _, d in fast.mornings) < sum(len(d.cleared) for _, d in replay.mornings) / 10
    )


def test_a_replay_on_data_read_later_does_not_discount_matured_days() -> None:
    # 40 % fewer conversions on the last day only. The morning after, a run expects 15 % of that
    # day's conversions still to come, so the drop looks like 29 % and stays under the 30 % floor.
    # Read a week later, the day has matured: the drop is the drop.
    last = date(2026, 11, 29)
    frame = pd.DataFrame(
        [
            {
                "date_day": day,
                "platform": "meta",
                "account_id": "111",
                "campaign_id": "C9",
                "campaign_name": "Campaign C9",
                "spend": 1000.0,
                "impressions": 100_000,
                "clicks": 1000,
                "conversions": 60.0 if day == last else 100.0,
                "conversion_value": 3000.0 if day == last else 5000.0,
            }
            for day in days(last - timedelta(days=40), last)
        ]
    )
    config = AlertConfig(alert_types=(AlertType.ROAS_DROP,), levels=(EntityLevel.CAMPAIGN,))
    as_read_then = replay_alerts(frame, last, last, config)
    as_read_later = replay_alerts(frame, last, last, config, reported_as_of=last + timedelta(days=8))
    assert as_read_then.history == []
    [episode] = as_read_later.history
    assert episode.key == ("ROAS_DROP", "meta", "campaign", "C9", "111")
    assert episode.alert.evidence["daily"][-1]["expected_maturity"] == 1.0


def check(entity: str, covers_since: date | None = None) -> Check:
    return Check(
        AlertType.DATA_INCOMPLETE, "meta", entity, EntityLevel.ACCOUNT, entity, START, END, {}, covers_since
    )


def test_the_lifecycle_continues_carried_alerts_and_honours_people() -> None:
    [data_alert] = [
        a for _, d in replay_alerts(FRAME, FIRST, FIRST, health=HEALTH).mornings for a in d.alerts
    ]
    key = ("DATA_INCOMPLETE", "meta", "account", "222", "222")
    types = (AlertType.DATA_INCOMPLETE,)
    carried = AlertEpisode(key, mornings=[date(2026, 10, 31)], window_start=MISSING, ref=41)
    # A person resolved the carried alert after the morning of Nov 3.
    lifecycle = AlertLifecycle([carried], closures=[(date(2026, 11, 3), key, 41)])
    # A check that did not re-examine the alert's days leaves it; one that did would resolve it.
    lifecycle.apply(date(2026, 11, 2), Detection([], [check("222", covers_since=date(2026, 11, 1))], types))
    lifecycle.apply(date(2026, 11, 3), Detection([data_alert], [], types))
    lifecycle.apply(date(2026, 11, 4), Detection([data_alert], [], types))  # after the person: a new alert
    lifecycle.apply(date(2026, 11, 5), Detection([], [check("222", covers_since=MISSING)], types))
    first, second = lifecycle.finish()
    assert (first.ref, first.mornings, first.closed_by, first.resolved_on) == (
        41,
        [date(2026, 10, 31), date(2026, 11, 3)],
        41,
        None,
    )
    assert (second.mornings, second.resolved_on) == ([date(2026, 11, 4)], date(2026, 11, 5))


def test_backtest_tables_say_what_would_have_fired(replay: object) -> None:
    frame = history_frame(replay.history)
    row = frame[(frame["alert_type"] == "ZERO_CONVERSIONS") & (frame["entity_id"] == "C1")].iloc[0]
    assert (row["first_day"], row["last_day"], row["resolved_day"], row["days_detected"]) == (
        BREAK[0],
        BREAK[1],
        BREAK[1] + timedelta(days=1),
        3,
    )
    assert (row["status"], row["severity"], row["value"]) == ("resolved", "CRITICAL", 0.0)
    assert row["evidence"]["window_start"] == BREAK[0].isoformat()
    summary = summary_frame(frame).set_index(["alert_type", "severity"])
    assert summary.loc[("ZERO_CONVERSIONS", "CRITICAL"), "alerts"] == 1
    assert summary.loc[("DATA_INCOMPLETE", "HIGH"), "live_at_end"] == 1
    assert summary["alerts"].sum() + summary["held"].sum() == len(frame)
    assert summary_frame(history_frame([])).empty


NO_CONVERSIONS_RULE = """
rules:
  - name: no-conversions-today
    currency: account
    conditions:
      all:
        - {metric: conversions, window_days: 1, operator: "==", value: 0}
        - {metric: spend, window_days: 1, operator: ">", value: 50}
    actions:
      - {type: send_alert, severity: HIGH}
      - {type: pause_campaign}
"""


def test_rules_are_replayed_day_by_day() -> None:
    [rule] = parse_rules(NO_CONVERSIONS_RULE)
    rows = replay_rules([(7, rule)], FRAME, FIRST, LAST, campaigns=None)
    [row] = rows
    assert (row["alert_type"], row["entity_id"], row["severity"]) == ("RULE_7", "C1", "HIGH")
    assert (row["first_day"], row["last_day"], row["resolved_day"]) == (
        BREAK[0],
        BREAK[1],
        BREAK[1] + timedelta(1),
    )
    assert row["actions"] == ["pause_campaign:planned", "send_alert:planned"]
    assert set(history_frame([], rows).columns) == set(row)


def test_config_overrides_are_validated_and_name_the_field(tmp_path: Path) -> None:
    assert alert_config({"roas_z": "3", "roas_windows": [1, 2]}) == replace(
        AlertConfig(), roas_z=3.0, roas_windows=(1, 2)
    )
    with pytest.raises(
        AlertConfigError, match=r"unknown AlertConfig field 'roas_zz' \(did you mean 'roas_z'\?\)"
    ):
        alert_config({"roas_zz": 3})
    with pytest.raises(AlertConfigError, match="cpa_z: Input should be a valid number"):
        alert_config({"cpa_z": "high"})
    with pytest.raises(AlertConfigError, match="roas_min_drop must be between 0 and 1"):
        alert_config({"roas_min_drop": 2})
    with pytest.raises(AlertConfigError, match=r"alert_types\.0: Input should be"):
        alert_config({"alert_types": ["ROAS_DROPPED"]})
    good = tmp_path / "alerts.yml"
    good.write_text("# stricter ROAS alerts\nroas_z: 3.5\nroas_min_drop: 0.4\n", encoding="utf-8")
    assert (load_alert_config(good).roas_z, load_alert_config(good).roas_min_drop) == (3.5, 0.4)
    for text, message in (("- roas_z\n", "expected a mapping"), ("roas_z: [1\n", "not valid YAML")):
        bad = tmp_path / "bad.yml"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(AlertConfigError, match=f"bad.yml: {message}"):
            load_alert_config(bad)
