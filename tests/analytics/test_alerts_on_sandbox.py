"""The detector against the sandbox's ground truth: incidents alert, healthy campaigns stay quiet.

Pure (no database): the simulator's reported metrics are rolled up to campaign-days exactly as
``fct_campaign_performance_daily`` does, for many different "todays" so the noise differs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from pipeline.analytics.alerts import detect_alerts
from pipeline.sandbox.simulator import World, default_scenario

METRICS = ["spend", "impressions", "clicks", "conversions", "conversion_value"]
TODAYS = [date(2026, 9, 1) + timedelta(days=5 * i) for i in range(12)]


def campaign_days(world: World, today: date) -> pd.DataFrame:
    ads = world.metrics_frame("meta", today - timedelta(days=30), today - timedelta(days=1))
    frame = (
        ads.groupby(["date", "platform", "account_id", "campaign_id"], as_index=False)[METRICS]
        .sum()
        .rename(columns={"date": "date_day"})
    )
    names = {c.id: c.name for c in world.campaigns("meta")}
    frame["campaign_name"] = frame["campaign_id"].map(names)
    return frame


@pytest.mark.parametrize("today", TODAYS, ids=str)
def test_default_incidents_alert_and_nothing_else(today: date) -> None:
    world = World(default_scenario(today=today))
    world.now = datetime(today.year, today.month, today.day, 23, tzinfo=UTC)
    alerts = detect_alerts(campaign_days(world, today), as_of=today)

    incident_kinds = {i.campaign_id: i.kind for i in world.incidents if i.campaign_id}
    alerted = {a.campaign_id: a.alert_type.value for a in alerts}
    by_kind = {kind: campaign for campaign, kind in incident_kinds.items()}
    assert by_kind["tracking_break"] in alerted
    assert alerted[by_kind["cvr_drop"]] == "ROAS_DROP"
    assert set(alerted) <= set(incident_kinds), f"alerts on healthy campaigns: {alerted}"
