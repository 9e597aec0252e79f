"""The detectors against the sandbox's ground truth: incidents alert, healthy campaigns stay quiet.

Pure (no database): the simulator's reported metrics are rolled up to campaign-days (and
campaign-hours) exactly as the marts do, for many different "todays" so the noise differs.
Default scenario on Meta: tracking_break (account 0 / campaign 0, from today-3), cvr_drop x0.3
(account 0 / campaign 1, from today-4), cpc_spike x2.5 (account 1 / campaign 0, from today-2),
overspend x1.8 (account 1 / campaign 1, from today-2), all lasting through today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from pipeline.analytics.alerting import (
    AlertType,
    EntityLevel,
    active_alerts,
    detect_alerts,
    detect_hourly_alerts,
)
from pipeline.sandbox.simulator import Incident, World, default_scenario

METRICS = ["spend", "impressions", "clicks", "conversions", "conversion_value"]
TODAYS = [date(2026, 9, 1) + timedelta(days=5 * i) for i in range(12)]
FITTING = {
    "tracking_break": {AlertType.ZERO_CONVERSIONS},
    "cvr_drop": {AlertType.ROAS_DROP},
    "cpc_spike": {AlertType.CPC_SPIKE, AlertType.ROAS_DROP, AlertType.CPA_SPIKE},
    "overspend": {AlertType.SPEND_PACING},
}


def sandbox(today: date) -> World:
    world = World(default_scenario(today=today, history_days=40))
    world.now = datetime(today.year, today.month, today.day, 20, 30, tzinfo=UTC)
    return world


def campaign_days(world: World, today: date) -> pd.DataFrame:
    ads = world.metrics_frame("meta", today - timedelta(days=35), today - timedelta(days=1))
    frame = (
        ads.groupby(["date", "platform", "account_id", "campaign_id"], as_index=False)[METRICS]
        .sum()
        .rename(columns={"date": "date_day"})
    )
    names = {c.id: c.name for c in world.campaigns("meta")}
    currencies = {a.id: a.currency for a in world.accounts("meta")}
    frame["campaign_name"] = frame["campaign_id"].map(names)
    frame["currency"] = frame["account_id"].map(currencies)
    return frame


def dim_campaigns(world: World) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "platform": "meta",
                "account_id": c.account_id,
                "campaign_id": c.id,
                "daily_budget": None if c.lifetime_budget else c.daily_budget,
                "lifetime_budget": c.lifetime_budget,
                "start_date": c.start_date,
                "end_date": c.end_date,
                "status": world.campaign_status(c),
            }
            for c in world.campaigns("meta")
        ]
    )


def campaign_hours(world: World, today: date) -> pd.DataFrame:
    frames = []
    for account in world.accounts("meta"):
        campaigns = world.campaigns("meta", account.id)
        for day in (today - timedelta(days=age) for age in range(6, -1, -1)):
            hours = world.account_hours("meta", account.id, day)
            if hours is None:
                continue
            for hour in np.flatnonzero(hours.hours_available):
                start = datetime(day.year, day.month, day.day, int(hour))
                sums = {
                    m: np.bincount(hours.campaign_positions, getattr(hours, m)[:, hour], len(campaigns))
                    for m in METRICS
                }
                frames.append(
                    pd.DataFrame(
                        {
                            "hour_start_local": start,
                            "hour_start_utc": start.replace(tzinfo=ZoneInfo(account.timezone))
                            .astimezone(UTC)
                            .replace(tzinfo=None),
                            "date_day": day,
                            "hour_of_day": int(hour),
                            "platform": "meta",
                            "account_id": account.id,
                            "campaign_id": [c.id for c in campaigns],
                            "campaign_name": [c.name for c in campaigns],
                            "currency": account.currency,
                            **sums,
                        }
                    )
                )
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["spend"] > 0]


def incident_kinds(world: World) -> dict[str, str]:
    return {i.campaign_id: i.kind for i in world.incidents if i.campaign_id}


@pytest.mark.parametrize("today", TODAYS, ids=str)
def test_default_incidents_alert_with_fitting_types_and_nothing_else(today: date) -> None:
    world = sandbox(today)
    alerts = active_alerts(
        detect_alerts(campaign_days(world, today), as_of=today, budgets=dim_campaigns(world))
    )

    kinds = incident_kinds(world)
    by_campaign: dict[str, set[AlertType]] = {}
    for alert in alerts:
        if alert.entity_level == EntityLevel.CAMPAIGN:
            by_campaign.setdefault(alert.entity_id, set()).add(alert.alert_type)
    assert set(by_campaign) <= set(kinds), f"alerts on healthy campaigns: {by_campaign}"
    for campaign, kind in kinds.items():
        assert by_campaign.get(campaign, set()) & FITTING[kind], f"{kind}: {by_campaign.get(campaign)}"
    assert by_campaign[next(c for c, k in kinds.items() if k == "cvr_drop")] == {AlertType.ROAS_DROP}
    # Broader alerts only where the incidents are.
    incident_accounts = {i.account_id for i in world.incidents if i.campaign_id}
    assert {a.account_id for a in alerts if a.entity_level == EntityLevel.ACCOUNT} <= incident_accounts


@pytest.mark.parametrize("today", TODAYS[::4], ids=str)
def test_hourly_spikes_on_the_sandbox(today: date) -> None:
    # Fresh trouble this morning on two healthy campaigns; the default incidents started days ago
    # (their days are in the baseline already: the daily detectors carry those).
    world = sandbox(today)
    account_0 = world.accounts("meta")[0].id
    traffic, new = world.campaigns("meta", account_0)[2:4]
    world.add_incident(Incident("cpc_spike", "meta", account_0, traffic.id, today, today, 2.5))
    world.add_incident(Incident("overspend", "meta", account_0, new.id, today, today, 2.0))

    alerts = active_alerts(detect_hourly_alerts(campaign_hours(world, today), world.now))

    found = {(a.entity_id, a.alert_type) for a in alerts if a.entity_level == EntityLevel.CAMPAIGN}
    assert {(traffic.id, AlertType.CPC_SPIKE), (new.id, AlertType.SPEND_SPIKE)} <= found
    kinds = incident_kinds(world)
    fitting = {"cpc_spike": AlertType.CPC_SPIKE, "overspend": AlertType.SPEND_SPIKE}
    assert all(fitting.get(kinds.get(c, "healthy")) == t for c, t in found), found


def test_unhealthy_account_data_holds_its_alerts() -> None:
    today = TODAYS[0]
    world = sandbox(today)
    account_0, account_1 = (a.id for a in world.accounts("meta"))
    health = pd.DataFrame(
        [
            {
                "date_day": today - timedelta(days=age),
                "platform": "meta",
                "account_id": account,
                "status": "unhealthy" if account == account_1 and age == 1 else "healthy",
                "health_score": 40.0 if account == account_1 and age == 1 else 100.0,
                "freshness_score": 100.0,
                "completeness_score": 40.0 if account == account_1 and age == 1 else 100.0,
                "accuracy_score": 100.0,
                "issues": [{"check": "completeness_missing_rows", "detail": "ads without rows"}]
                if account == account_1 and age == 1
                else [],
            }
            for account in (account_0, account_1)
            for age in range(1, 36)
        ]
    )

    alerts = detect_alerts(
        campaign_days(world, today), as_of=today, budgets=dim_campaigns(world), health=health
    )

    active = active_alerts(alerts)
    assert {a.account_id for a in active if not a.alert_type.is_data_alert} == {account_0}
    assert [(a.alert_type, a.account_id) for a in active if a.alert_type.is_data_alert] == [
        (AlertType.DATA_INCOMPLETE, account_1)
    ]
    held = [a for a in alerts if a.account_id == account_1 and a.is_suppressed]
    assert held and all(a.suppressed_reason.startswith("held: signal health unhealthy") for a in held)
