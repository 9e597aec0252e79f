"""The intraday detector: spend and CPC spikes today so far vs the same hours on previous days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from pipeline.analytics.alerting import (
    AlertConfig,
    AlertType,
    EntityLevel,
    active_alerts,
    detect_hourly_alerts,
)

TODAY = date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 15, 20)  # local: hours 0..14 complete, 15 partial
PROFILE = np.array(
    [0.35, 0.25, 0.18, 0.15, 0.15, 0.20, 0.35, 0.60, 0.80, 0.95, 1.00, 1.05,
     1.10, 1.05, 1.00, 1.00, 1.05, 1.15, 1.30, 1.45, 1.50, 1.35, 1.00, 0.60]
)  # fmt: skip
Change = Callable[[date, int], tuple[float, float]]  # (spend factor, cpc factor) by day and hour


def hourly_frame(
    campaign_id: str,
    *,
    daily_spend: float = 480.0,
    cpc: float = 0.6,
    seed: int = 1,
    days: int = 6,
    change: Change | None = None,
    account_id: str = "111",
    utc_offset_hours: int = 1,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for age in range(days, -1, -1):
        day = TODAY - timedelta(days=age)
        level = daily_spend * float(rng.lognormal(0.0, 0.08))
        last = NOW.hour if age == 0 else 23  # today: up to the current (partial) hour
        for hour in range(last + 1):
            spend_factor, cpc_factor = change(day, hour) if change else (1.0, 1.0)
            spend = level * PROFILE[hour] / PROFILE.sum() * float(rng.lognormal(0.0, 0.2)) * spend_factor
            clicks = int(rng.poisson(spend / (cpc * cpc_factor)))
            start = datetime(day.year, day.month, day.day, hour)
            rows.append(
                {
                    "hour_start_local": start,
                    "hour_start_utc": start - timedelta(hours=utc_offset_hours),
                    "date_day": day,
                    "hour_of_day": hour,
                    "platform": "meta",
                    "account_id": account_id,
                    "campaign_id": campaign_id,
                    "campaign_name": f"Campaign {campaign_id}",
                    "currency": "EUR",
                    "spend": round(spend, 2),
                    "clicks": clicks,
                    "impressions": clicks * 80,
                    "conversions": 0,
                    "conversion_value": 0.0,
                }
            )
    return pd.DataFrame(rows)


def today_from(hour: int, spend: float = 1.0, cpc: float = 1.0) -> Change:
    return lambda day, h: (spend, cpc) if day == TODAY and h >= hour else (1.0, 1.0)


def test_spend_spike_fires_on_todays_complete_hours() -> None:
    frame = hourly_frame("C1", change=today_from(0, spend=2.2))

    alerts = detect_hourly_alerts(frame, NOW)

    [alert] = active_alerts(alerts)
    assert (alert.alert_type, alert.entity_level, alert.entity_id) == (
        AlertType.SPEND_SPIKE,
        "campaign",
        "C1",
    )
    assert alert.window_start == alert.window_end == TODAY
    assert alert.value / alert.baseline > AlertConfig().hourly_spend_ratio
    assert alert.value > alert.threshold > alert.baseline
    evidence = alert.evidence
    assert evidence["hours"] == "00:00-14:59"
    assert evidence["last_complete_hour"] == 14
    assert len(evidence["previous_days"]) == 6
    # Today's partial hour 15 is not in the figure.
    complete = frame[(frame["date_day"] == TODAY) & (frame["hour_of_day"] <= 14)]
    assert alert.value == pytest.approx(complete["spend"].sum())
    assert evidence["signal_health"]["status"] == "not_assessed"


def test_cpc_spike_fires() -> None:
    frame = hourly_frame("C2", change=today_from(0, cpc=2.0))

    [alert] = active_alerts(detect_hourly_alerts(frame, NOW))

    assert alert.alert_type == AlertType.CPC_SPIKE
    assert alert.metric == "cpc"
    assert alert.value / alert.baseline == pytest.approx(2.0, rel=0.2)


@pytest.mark.parametrize("seed", range(12))
def test_normal_days_stay_quiet(seed: int) -> None:
    assert detect_hourly_alerts(hourly_frame(f"Q{seed}", seed=seed), NOW) == []


def test_too_early_tiny_and_new_campaigns_stay_quiet() -> None:
    spike = today_from(0, spend=3.0, cpc=3.0)
    early = datetime(2026, 11, 18, 2, 30)  # two complete hours
    assert detect_hourly_alerts(hourly_frame("E", change=spike), early) == []
    assert detect_hourly_alerts(hourly_frame("T", daily_spend=10.0, change=spike), NOW) == []
    assert detect_hourly_alerts(hourly_frame("N", days=2, change=spike), NOW) == []
    # The guards are what keeps them quiet.
    loose = AlertConfig(
        hourly_min_hours=1, hourly_spend_min_spend=0, hourly_spend_min_excess=0, hourly_cpc_min_clicks=0,
        hourly_cpc_min_spend=0, hourly_baseline_min_days=1,
    )  # fmt: skip
    assert detect_hourly_alerts(hourly_frame("E", change=spike), early, loose) != []
    assert detect_hourly_alerts(hourly_frame("T", daily_spend=10.0, change=spike), NOW, loose) != []


def test_a_spike_in_the_partial_hour_does_not_count() -> None:
    frame = hourly_frame("P", change=today_from(NOW.hour, spend=20.0))
    assert detect_hourly_alerts(frame, NOW) == []


def test_aware_now_uses_each_accounts_offset() -> None:
    frame = pd.concat(
        [
            hourly_frame("B1", change=today_from(0, spend=2.2), account_id="berlin", utc_offset_hours=1),
            hourly_frame(
                "N1", change=today_from(0, spend=2.2), account_id="new-york", utc_offset_hours=-5, seed=2
            ),
        ],
        ignore_index=True,
    )
    # 14:20 UTC: 15:20 in Berlin (hours 0-14 complete), 09:20 in New York (hours 0-8).
    alerts = active_alerts(detect_hourly_alerts(frame, datetime(2026, 11, 18, 14, 20, tzinfo=UTC)))

    by_account = {a.account_id: a.evidence["last_complete_hour"] for a in alerts}
    assert by_account == {"berlin": 14, "new-york": 8}
    with pytest.raises(ValueError, match="hour_start_utc"):
        detect_hourly_alerts(frame.drop(columns=["hour_start_utc"]), datetime(2026, 11, 18, 14, tzinfo=UTC))


def test_account_alert_carries_its_spiking_campaigns() -> None:
    frame = pd.concat(
        [hourly_frame(c, seed=i, change=today_from(0, spend=2.5)) for i, c in enumerate(("A", "B", "C"))]
        + [hourly_frame("D", seed=5)],
        ignore_index=True,
    )

    alerts = detect_hourly_alerts(frame, NOW)

    [account] = active_alerts(alerts)
    assert (account.alert_type, account.entity_level, account.campaign_id) == (
        AlertType.SPEND_SPIKE, EntityLevel.ACCOUNT, None,
    )  # fmt: skip
    assert {c["entity_id"] for c in account.evidence["narrower_alerts"]} == {"A", "B", "C"}
    assert sorted(a.entity_id for a in alerts if a.is_suppressed) == ["A", "B", "C"]
