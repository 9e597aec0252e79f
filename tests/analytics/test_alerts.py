"""Alert detectors on synthetic campaign-days with known truth.

The generator mimics what the marts hold: daily spend with weekly seasonality and ~10 % noise,
Poisson conversions, order values with noise, and recent days reported immature the way platforms
restate them (share reported at age a = 1 - 0.25 * exp(-a / 2), yesterday being age 0: harsher
than the detector's default assumption).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from pipeline.analytics.alerts import (
    REQUIRED_COLUMNS,
    Alert,
    AlertConfig,
    AlertType,
    Severity,
    detect_alerts,
)

AS_OF = date(2026, 11, 15)

# (day index from the oldest, final conversions, final value) -> (conversions, value)
Incident = Callable[[date, int, float], tuple[int, float]]


def reported_share(as_of: date, day: date) -> float:
    age = (as_of - day).days - 1
    return 1.0 - 0.25 * math.exp(-age / 2)


def campaign_frame(
    campaign_id: str,
    *,
    daily_spend: float,
    conversions_per_spend: float,
    order_value: float = 60.0,
    seed: int = 1,
    history_days: int = 30,
    immature: bool = True,
    incident: Incident | None = None,
    as_of: date = AS_OF,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for offset in range(history_days, 0, -1):
        day = as_of - timedelta(days=offset)
        weekend = 0.85 if day.weekday() >= 5 else 1.0
        spend = round(daily_spend * weekend * float(rng.lognormal(0.0, 0.1)), 2)
        conversions = int(rng.poisson(spend * conversions_per_spend))
        value = conversions * order_value * float(rng.lognormal(0.0, 0.1))
        if incident is not None:
            conversions, value = incident(day, conversions, value)
        if immature:
            share = reported_share(as_of, day)
            reported = round(conversions * share)
            value = value * reported / conversions if conversions else 0.0
            conversions = reported
        rows.append(
            {
                "date_day": day,
                "platform": "meta",
                "account_id": "111",
                "campaign_id": campaign_id,
                "campaign_name": f"Campaign {campaign_id}",
                "currency": "EUR",
                "spend": spend,
                "impressions": int(spend * 250),
                "clicks": int(spend * 4),
                "conversions": float(conversions),
                "conversion_value": round(value, 2),
            }
        )
    return pd.DataFrame(rows)


def last_days(n: int, as_of: date = AS_OF) -> Callable[[date], bool]:
    return lambda day: as_of - timedelta(days=n) <= day < as_of


def tracking_break(days: int) -> Incident:
    in_window = last_days(days)
    return lambda day, conversions, value: (0, 0.0) if in_window(day) else (conversions, value)


def conversion_rate_drop(days: int, factor: float, seed: int = 99) -> Incident:
    in_window = last_days(days)
    rng = np.random.default_rng(seed)

    def apply(day: date, conversions: int, value: float) -> tuple[int, float]:
        if not in_window(day) or conversions == 0:
            return conversions, value
        kept = int(rng.binomial(conversions, factor))
        return kept, value * kept / conversions

    return apply


def only(alerts: list[Alert], alert_type: AlertType) -> list[Alert]:
    return [a for a in alerts if a.alert_type == alert_type]


# --- fires when it should ----------------------------------------------------------------------


def test_tracking_break_fires_zero_conversions_and_not_roas_drop() -> None:
    frame = campaign_frame("1001", daily_spend=300, conversions_per_spend=0.03, incident=tracking_break(3))

    alerts = detect_alerts(frame, AS_OF)

    assert [(a.alert_type, a.campaign_id) for a in alerts] == [(AlertType.ZERO_CONVERSIONS, "1001")]
    alert = alerts[0]
    assert alert.window_start == AS_OF - timedelta(days=2)
    assert alert.window_end == AS_OF - timedelta(days=1)
    assert alert.value == 0.0
    # ~9 conversions a day (one weekend day), of which 75-85 % would be reported by now.
    assert 8 <= alert.baseline <= 16
    assert alert.severity == Severity.HIGH  # total loss of signal on a few hundred EUR
    assert "EUR" in alert.message


def test_real_conversion_rate_drop_fires_roas_drop() -> None:
    frame = campaign_frame(
        "2002",
        daily_spend=500,
        conversions_per_spend=0.04,
        seed=3,
        incident=conversion_rate_drop(days=4, factor=0.4),
    )

    alerts = detect_alerts(frame, AS_OF)

    assert [(a.alert_type, a.campaign_id) for a in alerts] == [(AlertType.ROAS_DROP, "2002")]
    alert = alerts[0]
    assert alert.metric == "roas"
    assert 0.45 <= alert.evidence["relative_drop"] <= 0.75
    assert alert.value < alert.threshold < alert.baseline
    assert alert.window_start == AS_OF - timedelta(days=3)
    assert alert.severity in (Severity.MEDIUM, Severity.HIGH)


# --- stays quiet when it should ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("daily_spend", "conversions_per_spend"),
    [(150, 0.04), (400, 0.02), (1_000, 0.03), (3_000, 0.02), (250, 0.1)],
)
def test_healthy_noisy_campaigns_stay_quiet(daily_spend: float, conversions_per_spend: float) -> None:
    frames = [
        campaign_frame(
            f"{int(daily_spend)}-{seed}",
            daily_spend=daily_spend,
            conversions_per_spend=conversions_per_spend,
            seed=seed,
        )
        for seed in range(20)
    ]

    assert detect_alerts(pd.concat(frames, ignore_index=True), AS_OF) == []


def test_immature_last_days_do_not_look_like_a_drop() -> None:
    # No noise at all: the only thing "wrong" with the last days is that they are not final yet.
    rows = []
    for offset in range(30, 0, -1):
        day = AS_OF - timedelta(days=offset)
        share = reported_share(AS_OF, day)
        rows.append(
            {
                "date_day": day,
                "platform": "meta",
                "account_id": "111",
                "campaign_id": "3003",
                "campaign_name": "Steady",
                "spend": 400.0,
                "impressions": 100_000,
                "clicks": 1_600,
                "conversions": float(round(20 * share)),
                "conversion_value": 1_200.0 * share,
            }
        )
    frame = pd.DataFrame(rows)
    recent = frame.tail(3)
    reported_drop = 1 - recent["conversion_value"].sum() / recent["spend"].sum() / 3.0
    assert reported_drop > 0.12  # as reported, the last days do look worse than the baseline

    assert detect_alerts(frame, AS_OF) == []
    # Even with a hair trigger and no noise allowance, the maturity adjustment keeps it quiet...
    hair_trigger = AlertConfig(roas_drop_threshold=0.12, roas_noise_z=0.0)
    assert detect_alerts(frame, AS_OF, hair_trigger) == []
    # ...and it is the adjustment that does: assume final data and the same trigger fires.
    assume_final = AlertConfig(roas_drop_threshold=0.12, roas_noise_z=0.0, recent_maturity=(1.0,))
    assert [a.alert_type for a in detect_alerts(frame, AS_OF, assume_final)] == [AlertType.ROAS_DROP]


@pytest.mark.parametrize(
    ("case", "frame", "unguarded"),
    [
        (
            "below the spend floor: two days without a conversion",
            campaign_frame("4004", daily_spend=20, conversions_per_spend=0.05, incident=tracking_break(2)),
            AlertConfig(zero_conversion_min_spend=0.0, zero_conversion_min_expected=0.1),
        ),
        (
            "about one conversion a day: two empty days are plausible by chance",
            campaign_frame(
                "4005", daily_spend=60, conversions_per_spend=1 / 60, incident=tracking_break(2), seed=5
            ),
            AlertConfig(zero_conversion_min_expected=0.1),
        ),
        (
            "two conversions a day: a big ROAS swing over three days is still noise-level",
            campaign_frame(
                "4006",
                daily_spend=150,
                conversions_per_spend=2 / 150,
                seed=6,
                incident=conversion_rate_drop(days=3, factor=0.3),
            ),
            AlertConfig(roas_noise_z=0.0, roas_min_baseline_conversions=1),
        ),
    ],
    ids=["spend-floor", "expected-conversions", "roas-noise"],
)
def test_tiny_campaigns_stay_quiet(case: str, frame: pd.DataFrame, unguarded: AlertConfig) -> None:
    assert detect_alerts(frame, AS_OF) == [], case
    # The guard is what keeps it quiet: without it the same data alerts.
    assert detect_alerts(frame, AS_OF, unguarded) != [], case


def test_campaign_without_baseline_conversions_stays_quiet() -> None:
    # A traffic campaign (never tracked conversions) is not a tracking break.
    frame = campaign_frame("5005", daily_spend=500, conversions_per_spend=0.0)
    assert detect_alerts(frame, AS_OF) == []


def test_incomplete_window_is_not_scored() -> None:
    frame = campaign_frame("6006", daily_spend=300, conversions_per_spend=0.03, incident=tracking_break(3))
    missing_yesterday = frame[frame["date_day"] != AS_OF - timedelta(days=1)]
    assert detect_alerts(missing_yesterday, AS_OF) == []


def test_rows_on_or_after_as_of_are_ignored() -> None:
    healthy = campaign_frame("7007", daily_spend=300, conversions_per_spend=0.03)
    # Today so far: heavy spend, nothing converted yet. Not a complete day, so not evidence.
    partial_today = healthy.tail(1).assign(date_day=AS_OF, spend=900.0, conversions=0.0, conversion_value=0.0)
    frame = pd.concat([healthy, partial_today], ignore_index=True)

    assert detect_alerts(frame, AS_OF) == []
    # Scored a day later the same day is complete and does drag the recent ROAS down.
    assert [a.alert_type for a in detect_alerts(frame, AS_OF + timedelta(days=1))] == [AlertType.ROAS_DROP]


# --- evidence, severity, ordering, input handling ----------------------------------------------

# Maturity 0.8 for yesterday, 0.9 the day before, final afterwards: round numbers below.
SIMPLE = AlertConfig(recent_maturity=(0.8, 0.9))


def constant_campaign(campaign_id: str, recent: dict[int, tuple[float, float, float]]) -> pd.DataFrame:
    """20 days of spend 100, 10 conversions, value 500; `recent` overrides days by age."""
    rows = []
    for age in range(20, 0, -1):
        spend, conversions, value = recent.get(age, (100.0, 10.0, 500.0))
        rows.append(
            {
                "date_day": AS_OF - timedelta(days=age),
                "platform": "meta",
                "account_id": "111",
                "campaign_id": campaign_id,
                "campaign_name": f"Campaign {campaign_id}",
                "spend": spend,
                "impressions": 10_000,
                "clicks": 200,
                "conversions": conversions,
                "conversion_value": value,
            }
        )
    return pd.DataFrame(rows)


def test_zero_conversion_evidence_is_exact() -> None:
    frame = constant_campaign("A", {1: (100.0, 0.0, 0.0), 2: (100.0, 0.0, 0.0)})

    [alert] = detect_alerts(frame, AS_OF, SIMPLE)

    assert alert.alert_type == AlertType.ZERO_CONVERSIONS
    evidence = alert.evidence
    assert evidence["window_start"] == "2026-11-13"
    assert evidence["window_end"] == "2026-11-14"
    assert evidence["window_spend"] == 200.0
    assert evidence["window_conversions"] == 0.0
    assert evidence["baseline_start"] == "2026-10-30"
    assert evidence["baseline_end"] == "2026-11-12"
    assert evidence["baseline_days_with_data"] == 14
    assert evidence["baseline_spend"] == 1_400.0
    assert evidence["baseline_conversions"] == 140.0
    assert evidence["baseline_conversions_per_spend"] == pytest.approx(0.1)
    # 0.1 conversions per EUR on 100 * 0.8 + 100 * 0.9 of visible spend.
    assert evidence["expected_conversions"] == pytest.approx(17.0)
    assert evidence["probability_of_zero_by_chance"] == pytest.approx(math.exp(-17.0))
    assert [d["date"] for d in evidence["daily"]] == ["2026-11-13", "2026-11-14"]
    assert [d["expected_maturity"] for d in evidence["daily"]] == [0.9, 0.8]
    assert alert.baseline == pytest.approx(17.0)
    assert alert.severity == Severity.HIGH
    json.dumps(evidence)  # storable as jsonb as is


def test_roas_drop_evidence_is_exact() -> None:
    frame = constant_campaign("B", {1: (200.0, 4.0, 200.0), 2: (200.0, 4.0, 200.0), 3: (200.0, 4.0, 200.0)})

    [alert] = detect_alerts(frame, AS_OF, SIMPLE)

    assert alert.alert_type == AlertType.ROAS_DROP
    evidence = alert.evidence
    assert evidence["window_start"] == "2026-11-12"
    assert evidence["baseline_start"] == "2026-10-29"
    assert evidence["baseline_end"] == "2026-11-11"
    assert evidence["recent_spend"] == 600.0
    assert evidence["recent_conversion_value"] == 600.0
    adjusted_value = 200 / 0.8 + 200 / 0.9 + 200
    assert evidence["recent_conversion_value_adjusted"] == pytest.approx(adjusted_value)
    assert evidence["recent_roas_reported"] == pytest.approx(1.0)
    assert evidence["recent_roas_adjusted"] == pytest.approx(adjusted_value / 600)
    assert evidence["baseline_roas_adjusted"] == pytest.approx(5.0)
    assert evidence["relative_drop"] == pytest.approx(1 - adjusted_value / 600 / 5)
    expected_recent = 0.1 * (200 * 0.8 + 200 * 0.9 + 200)
    assert evidence["expected_recent_conversions"] == pytest.approx(expected_recent)
    noise = math.sqrt(1 / expected_recent + 1 / 140)
    assert evidence["noise_relative_sd"] == pytest.approx(noise)
    assert evidence["required_drop"] == pytest.approx(max(0.35, AlertConfig().roas_noise_z * noise))
    assert alert.value == pytest.approx(adjusted_value / 600)
    assert alert.baseline == pytest.approx(5.0)
    assert alert.threshold == pytest.approx(5.0 * (1 - max(0.35, AlertConfig().roas_noise_z * noise)))
    assert alert.severity == Severity.MEDIUM  # a ~78 % drop on 600 EUR
    json.dumps(evidence)


def test_alerts_are_ordered_by_severity_then_type_and_key() -> None:
    zero = constant_campaign("A", {1: (100.0, 0.0, 0.0), 2: (100.0, 0.0, 0.0)})
    drop = constant_campaign("B", {1: (200.0, 4.0, 200.0), 2: (200.0, 4.0, 200.0), 3: (200.0, 4.0, 200.0)})
    big_zero = constant_campaign("C", {1: (3_000.0, 0.0, 0.0), 2: (3_000.0, 0.0, 0.0)})
    frame = pd.concat([drop, zero, big_zero], ignore_index=True).sample(frac=1.0, random_state=4)

    alerts = detect_alerts(frame, AS_OF, SIMPLE)

    assert [(a.campaign_id, a.severity) for a in alerts] == [
        ("C", Severity.CRITICAL),
        ("A", Severity.HIGH),
        ("B", Severity.MEDIUM),
    ]
    assert detect_alerts(frame.iloc[::-1], AS_OF, SIMPLE) == alerts


def test_accepts_database_types_and_rejects_missing_columns() -> None:
    frame = constant_campaign("A", {1: (100.0, 0.0, 0.0), 2: (100.0, 0.0, 0.0)})
    as_from_database = frame.assign(
        date_day=pd.to_datetime(frame["date_day"]),
        spend=[Decimal(str(v)) for v in frame["spend"]],
        conversions=[Decimal(str(v)) for v in frame["conversions"]],
        conversion_value=[Decimal(str(v)) for v in frame["conversion_value"]],
    )

    assert detect_alerts(as_from_database, AS_OF, SIMPLE) == detect_alerts(frame, AS_OF, SIMPLE)
    assert detect_alerts(frame.iloc[0:0], AS_OF) == []
    with pytest.raises(ValueError, match="conversion_value"):
        detect_alerts(frame.drop(columns=["conversion_value"]), AS_OF)
    assert "currency" not in REQUIRED_COLUMNS
