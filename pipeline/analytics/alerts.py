"""Campaign alerts from daily performance: tracking breaks and ROAS drops.

Pure logic (pandas only): the caller reads ``marts.fct_campaign_performance_daily`` and stores the
returned alerts. Every alert carries the numbers it was decided on (``evidence``), so a reader can
check it without re-running anything.

Two things shape the rules:

* Recent days are immature. Platforms restate conversions upward for days (attribution), so the
  last 1-3 days typically show ~10-20 % fewer conversions than they finally will. Detectors divide
  recent conversions and value by an expected maturity per day of age
  (``AlertConfig.recent_maturity``) before comparing with the baseline, so normal immaturity does
  not look like a drop.
* Small numbers are noisy. A campaign with a handful of conversions a day can go two days without
  one by chance. Both detectors require enough money and enough expected conversions, and the ROAS
  drop must also exceed what Poisson noise of the conversion counts explains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import pandas as pd

KEY_COLUMNS = ["platform", "account_id", "campaign_id"]
METRIC_COLUMNS = ["spend", "impressions", "clicks", "conversions", "conversion_value"]
REQUIRED_COLUMNS = ["date_day", *KEY_COLUMNS, "campaign_name", *METRIC_COLUMNS]


class AlertType(StrEnum):
    ZERO_CONVERSIONS = "ZERO_CONVERSIONS"
    ROAS_DROP = "ROAS_DROP"


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


SEVERITY_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


@dataclass(frozen=True)
class AlertConfig:
    """Thresholds of the detectors. Money thresholds are in each campaign's account currency."""

    # Days before a scored window that define "normal" for the campaign.
    baseline_days: int = 14

    # ZERO_CONVERSIONS: the last N complete days had no conversions while spending.
    zero_conversion_days: int = 2
    zero_conversion_min_spend: float = 50.0
    # Conversions the window should have had at the baseline rate (after immaturity). At 5, zero
    # happens by chance with probability e^-5 < 1 %.
    zero_conversion_min_expected: float = 5.0

    # ROAS_DROP: recent window ROAS vs the baseline ROAS of the same campaign.
    roas_window_days: int = 3
    roas_drop_threshold: float = 0.35
    roas_min_recent_spend: float = 100.0
    roas_min_baseline_conversions: float = 20.0
    # The drop must also be this many standard deviations of the noise expected from the
    # conversion counts (recent expected and baseline), so low-volume campaigns stay quiet.
    roas_noise_z: float = 2.5

    # Expected share of a day's final conversions already reported, by age in days (index 0 =
    # yesterday relative to as_of, 1 = the day before, ...); 1.0 for older days.
    recent_maturity: tuple[float, ...] = (0.85, 0.91, 0.94, 0.96, 0.97, 0.98)

    # Severity: the deviation sets a base level (LOW / MEDIUM / HIGH), money at stake (spend in the
    # scored window) moves it: +1 at or above `high`, +2 at or above `critical`, -1 below `low`.
    severity_deviation_medium: float = 0.5
    severity_deviation_high: float = 0.8
    severity_spend_low: float = 100.0
    severity_spend_high: float = 1_000.0
    severity_spend_critical: float = 5_000.0

    def __post_init__(self) -> None:
        if min(self.baseline_days, self.zero_conversion_days, self.roas_window_days) < 1:
            raise ValueError("window lengths must be at least one day")
        if not 0 < self.roas_drop_threshold < 1:
            raise ValueError("roas_drop_threshold must be between 0 and 1")
        if any(not 0 < m <= 1 for m in self.recent_maturity):
            raise ValueError("recent_maturity values must be in (0, 1]")

    def maturity(self, age_days: int) -> float:
        """Expected share of final conversions reported for a day ``age_days`` before as_of."""
        index = age_days - 1
        return self.recent_maturity[index] if 0 <= index < len(self.recent_maturity) else 1.0


@dataclass(frozen=True)
class Alert:
    """One finding about one campaign, with the evidence it was decided on."""

    alert_type: AlertType
    severity: Severity
    platform: str
    account_id: str
    campaign_id: str
    campaign_name: str
    metric: str
    value: float
    baseline: float
    threshold: float
    window_start: date
    window_end: date
    title: str
    message: str
    # JSON-ready (dates as ISO strings). Excluded from hashing: a dict is not hashable.
    evidence: dict[str, Any] = field(default_factory=dict, hash=False)


def detect_alerts(
    campaign_daily: pd.DataFrame, as_of: date, config: AlertConfig = AlertConfig()
) -> list[Alert]:
    """Score every campaign for ZERO_CONVERSIONS and ROAS_DROP as of ``as_of``.

    ``campaign_daily`` has one row per campaign and day with the columns date_day, platform,
    account_id, campaign_id, campaign_name, spend, impressions, clicks, conversions and
    conversion_value (as in ``marts.fct_campaign_performance_daily``); an optional ``currency``
    column is carried into messages and evidence. ``as_of`` is the first incomplete day: days
    before it are complete, rows on or after it are ignored. A scored window must have a row for
    each of its days, otherwise the campaign is not scored (missing data is a data-health issue,
    not a business alert).

    ZERO_CONVERSIONS fires when the last ``zero_conversion_days`` complete days have no
    conversions, spend at least ``zero_conversion_min_spend`` and, at the baseline conversion
    rate (prior ``baseline_days`` days), should have brought at least
    ``zero_conversion_min_expected`` conversions. It suggests broken tracking rather than bad
    performance.

    ROAS_DROP fires when maturity-adjusted ROAS over the last ``roas_window_days`` complete days
    is at least ``roas_drop_threshold`` (relative) below the campaign's baseline ROAS and the drop
    exceeds ``roas_noise_z`` standard deviations of conversion-count noise, with at least
    ``roas_min_recent_spend`` recent spend and ``roas_min_baseline_conversions`` baseline
    conversions. A campaign with a ZERO_CONVERSIONS alert gets no ROAS_DROP (same cause).

    Returns alerts ordered by severity (highest first), then alert type, platform, account and
    campaign id; the same input always yields the same list.
    """
    daily = _prepare(campaign_daily, as_of, config)
    if daily.empty:
        return []

    zero_conversion_alerts = _zero_conversion_alerts(daily, as_of, config)
    already_alerted = {(a.platform, a.account_id, a.campaign_id) for a in zero_conversion_alerts}
    roas_alerts = [
        alert
        for alert in _roas_drop_alerts(daily, as_of, config)
        if (alert.platform, alert.account_id, alert.campaign_id) not in already_alerted
    ]

    alerts = zero_conversion_alerts + roas_alerts
    return sorted(
        alerts,
        key=lambda a: (
            -SEVERITY_ORDER.index(a.severity),
            a.alert_type.value,
            a.platform,
            a.account_id,
            a.campaign_id,
        ),
    )


# --- preparation -------------------------------------------------------------------------------


def _prepare(campaign_daily: pd.DataFrame, as_of: date, config: AlertConfig) -> pd.DataFrame:
    """Typed, one row per campaign-day, complete days in reach of the longest window only."""
    missing = [c for c in REQUIRED_COLUMNS if c not in campaign_daily.columns]
    if missing:
        raise ValueError(f"campaign_daily lacks columns: {', '.join(missing)}")

    columns = REQUIRED_COLUMNS + (["currency"] if "currency" in campaign_daily.columns else [])
    frame = campaign_daily[columns].copy()
    frame["date_day"] = pd.to_datetime(frame["date_day"]).dt.date
    for column in KEY_COLUMNS:
        frame[column] = frame[column].astype(str)
    frame["campaign_name"] = frame["campaign_name"].where(
        frame["campaign_name"].notna(), frame["campaign_id"]
    )
    for column in METRIC_COLUMNS:
        # Database numerics arrive as Decimal; nulls mean nothing was reported.
        frame[column] = pd.to_numeric(frame[column].astype("float64"), errors="coerce").fillna(0.0)

    reach = max(config.zero_conversion_days, config.roas_window_days) + config.baseline_days
    frame = frame[(frame["date_day"] < as_of) & (frame["date_day"] >= as_of - timedelta(days=reach))]
    if frame.empty:
        return frame

    # Defensive: a campaign-day split over several rows is summed; the latest name wins.
    frame = frame.sort_values([*KEY_COLUMNS, "date_day"], kind="stable")
    latest_names = frame.groupby(KEY_COLUMNS, sort=True)["campaign_name"].last()
    aggregations: dict[str, str] = dict.fromkeys(METRIC_COLUMNS, "sum")
    if "currency" in frame.columns:
        aggregations["currency"] = "last"
    daily = frame.groupby([*KEY_COLUMNS, "date_day"], sort=True, as_index=False).agg(aggregations)
    daily = daily.merge(latest_names.rename("campaign_name").reset_index(), on=KEY_COLUMNS)
    if "currency" not in daily.columns:
        daily["currency"] = None

    daily["age_days"] = [(as_of - d).days for d in daily["date_day"]]
    daily["maturity"] = [config.maturity(age) for age in daily["age_days"]]
    # What the day will finally report, and the spend weighted by how much of it is visible yet.
    daily["conversions_adjusted"] = daily["conversions"] / daily["maturity"]
    daily["conversion_value_adjusted"] = daily["conversion_value"] / daily["maturity"]
    daily["spend_x_maturity"] = daily["spend"] * daily["maturity"]
    return daily


@dataclass(frozen=True)
class _Windows:
    start: date
    end: date
    baseline_start: date
    baseline_end: date
    days: int


def _windows(as_of: date, window_days: int, config: AlertConfig) -> _Windows:
    end = as_of - timedelta(days=1)
    start = as_of - timedelta(days=window_days)
    baseline_end = start - timedelta(days=1)
    baseline_start = start - timedelta(days=config.baseline_days)
    return _Windows(start, end, baseline_start, baseline_end, window_days)


def _totals(daily: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Per-campaign sums over [start, end], indexed by the campaign key."""
    in_range = daily[(daily["date_day"] >= start) & (daily["date_day"] <= end)]
    return in_range.groupby(KEY_COLUMNS, sort=True).agg(
        days=("date_day", "nunique"),
        spend=("spend", "sum"),
        conversions=("conversions", "sum"),
        conversion_value=("conversion_value", "sum"),
        conversions_adjusted=("conversions_adjusted", "sum"),
        conversion_value_adjusted=("conversion_value_adjusted", "sum"),
        spend_x_maturity=("spend_x_maturity", "sum"),
        campaign_name=("campaign_name", "last"),
        currency=("currency", "last"),
    )


def _scored(daily: pd.DataFrame, windows: _Windows) -> pd.DataFrame:
    """Campaigns with a complete scored window, joined to their baseline totals."""
    recent = _totals(daily, windows.start, windows.end)
    recent = recent[recent["days"] == windows.days]
    baseline = _totals(daily, windows.baseline_start, windows.baseline_end)
    return recent.merge(
        baseline.drop(columns=["campaign_name", "currency"]),
        left_index=True,
        right_index=True,
        how="inner",
        suffixes=("", "_baseline"),
    )


def _daily_evidence(
    daily: pd.DataFrame, key: tuple[str, str, str], windows: _Windows
) -> list[dict[str, Any]]:
    rows = daily[
        (daily["platform"] == key[0])
        & (daily["account_id"] == key[1])
        & (daily["campaign_id"] == key[2])
        & (daily["date_day"] >= windows.start)
        & (daily["date_day"] <= windows.end)
    ]
    return [
        {
            "date": row.date_day.isoformat(),
            "spend": float(row.spend),
            "conversions": float(row.conversions),
            "conversion_value": float(row.conversion_value),
            "expected_maturity": float(row.maturity),
        }
        for row in rows.itertuples(index=False)
    ]


# --- detectors ---------------------------------------------------------------------------------


def _zero_conversion_alerts(daily: pd.DataFrame, as_of: date, config: AlertConfig) -> list[Alert]:
    windows = _windows(as_of, config.zero_conversion_days, config)
    scored = _scored(daily, windows)
    candidates = scored[
        (scored["conversions"] == 0)
        & (scored["spend"] >= config.zero_conversion_min_spend)
        & (scored["conversions_adjusted_baseline"] > 0)
        & (scored["spend_baseline"] > 0)
    ]

    alerts: list[Alert] = []
    for key, row in candidates.iterrows():
        baseline_rate = row["conversions_adjusted_baseline"] / row["spend_baseline"]
        # Conversions the window would show by now (immature days count partly) at that rate.
        expected = baseline_rate * row["spend_x_maturity"]
        if expected < config.zero_conversion_min_expected:
            continue
        platform, account_id, campaign_id = key
        currency = _currency_suffix(_currency(row["currency"]))
        spend = float(row["spend"])
        evidence = {
            "window_start": windows.start.isoformat(),
            "window_end": windows.end.isoformat(),
            "window_days": windows.days,
            "window_spend": spend,
            "window_conversions": float(row["conversions"]),
            "window_conversion_value": float(row["conversion_value"]),
            "window_spend_x_maturity": float(row["spend_x_maturity"]),
            "baseline_start": windows.baseline_start.isoformat(),
            "baseline_end": windows.baseline_end.isoformat(),
            "baseline_days_with_data": int(row["days_baseline"]),
            "baseline_spend": float(row["spend_baseline"]),
            "baseline_conversions": float(row["conversions_baseline"]),
            "baseline_conversions_adjusted": float(row["conversions_adjusted_baseline"]),
            "baseline_conversions_per_spend": float(baseline_rate),
            "expected_conversions": float(expected),
            "probability_of_zero_by_chance": math.exp(-expected),
            "currency": _currency(row["currency"]),
            "daily": _daily_evidence(daily, key, windows),
            "config": {
                "zero_conversion_days": config.zero_conversion_days,
                "zero_conversion_min_spend": config.zero_conversion_min_spend,
                "zero_conversion_min_expected": config.zero_conversion_min_expected,
                "baseline_days": config.baseline_days,
            },
        }
        alerts.append(
            Alert(
                alert_type=AlertType.ZERO_CONVERSIONS,
                severity=_severity(1.0, spend, config),
                platform=platform,
                account_id=account_id,
                campaign_id=campaign_id,
                campaign_name=row["campaign_name"],
                metric="conversions",
                value=0.0,
                baseline=float(expected),
                threshold=0.0,
                window_start=windows.start,
                window_end=windows.end,
                title=f"{row['campaign_name']}: no conversions for {windows.days} days while spending",
                message=(
                    f"Campaign '{row['campaign_name']}' ({platform} account {account_id}) spent "
                    f"{spend:,.2f}{currency} from {windows.start} to {windows.end} with zero conversions; "
                    f"at its rate from {windows.baseline_start} to {windows.baseline_end} about "
                    f"{expected:.1f} were expected. Check conversion tracking before changing budgets."
                ),
                evidence=evidence,
            )
        )
    return alerts


def _roas_drop_alerts(daily: pd.DataFrame, as_of: date, config: AlertConfig) -> list[Alert]:
    windows = _windows(as_of, config.roas_window_days, config)
    scored = _scored(daily, windows)
    candidates = scored[
        (scored["spend"] >= config.roas_min_recent_spend)
        & (scored["conversions_baseline"] >= config.roas_min_baseline_conversions)
        & (scored["spend_baseline"] > 0)
        & (scored["conversion_value_adjusted_baseline"] > 0)
    ]

    alerts: list[Alert] = []
    for key, row in candidates.iterrows():
        baseline_roas = row["conversion_value_adjusted_baseline"] / row["spend_baseline"]
        recent_roas = row["conversion_value_adjusted"] / row["spend"]
        drop = 1.0 - recent_roas / baseline_roas
        expected_recent_conversions = (
            row["conversions_adjusted_baseline"] / row["spend_baseline"] * row["spend_x_maturity"]
        )
        if expected_recent_conversions <= 0:
            continue
        # Relative standard deviation of the ROAS ratio if nothing changed: Poisson noise of the
        # recent conversions expected plus that of the baseline's.
        noise = math.sqrt(1.0 / expected_recent_conversions + 1.0 / row["conversions_baseline"])
        required_drop = max(config.roas_drop_threshold, config.roas_noise_z * noise)
        if drop < required_drop:
            continue
        platform, account_id, campaign_id = key
        currency = _currency_suffix(_currency(row["currency"]))
        spend = float(row["spend"])
        reported_roas = row["conversion_value"] / row["spend"]
        threshold_roas = baseline_roas * (1.0 - required_drop)
        evidence = {
            "window_start": windows.start.isoformat(),
            "window_end": windows.end.isoformat(),
            "window_days": windows.days,
            "recent_spend": spend,
            "recent_conversions": float(row["conversions"]),
            "recent_conversion_value": float(row["conversion_value"]),
            "recent_conversion_value_adjusted": float(row["conversion_value_adjusted"]),
            "recent_roas_reported": float(reported_roas),
            "recent_roas_adjusted": float(recent_roas),
            "baseline_start": windows.baseline_start.isoformat(),
            "baseline_end": windows.baseline_end.isoformat(),
            "baseline_days_with_data": int(row["days_baseline"]),
            "baseline_spend": float(row["spend_baseline"]),
            "baseline_conversions": float(row["conversions_baseline"]),
            "baseline_conversion_value": float(row["conversion_value_baseline"]),
            "baseline_conversion_value_adjusted": float(row["conversion_value_adjusted_baseline"]),
            "baseline_roas_adjusted": float(baseline_roas),
            "relative_drop": float(drop),
            "expected_recent_conversions": float(expected_recent_conversions),
            "noise_relative_sd": float(noise),
            "required_drop": float(required_drop),
            "estimated_value_shortfall": float((baseline_roas - recent_roas) * spend),
            "currency": _currency(row["currency"]),
            "daily": _daily_evidence(daily, key, windows),
            "config": {
                "roas_window_days": config.roas_window_days,
                "roas_drop_threshold": config.roas_drop_threshold,
                "roas_min_recent_spend": config.roas_min_recent_spend,
                "roas_min_baseline_conversions": config.roas_min_baseline_conversions,
                "roas_noise_z": config.roas_noise_z,
                "baseline_days": config.baseline_days,
            },
        }
        alerts.append(
            Alert(
                alert_type=AlertType.ROAS_DROP,
                severity=_severity(drop, spend, config),
                platform=platform,
                account_id=account_id,
                campaign_id=campaign_id,
                campaign_name=row["campaign_name"],
                metric="roas",
                value=float(recent_roas),
                baseline=float(baseline_roas),
                threshold=float(threshold_roas),
                window_start=windows.start,
                window_end=windows.end,
                title=f"{row['campaign_name']}: ROAS down {drop:.0%} vs baseline",
                message=(
                    f"Campaign '{row['campaign_name']}' ({platform} account {account_id}) returned "
                    f"ROAS {recent_roas:.2f} from {windows.start} to {windows.end} (adjusted for "
                    f"late conversions; {reported_roas:.2f} as reported) against {baseline_roas:.2f} "
                    f"from {windows.baseline_start} to {windows.baseline_end}: a {drop:.0%} drop on "
                    f"{spend:,.2f}{currency} spend (alert at {required_drop:.0%})."
                ),
                evidence=evidence,
            )
        )
    return alerts


# --- helpers -----------------------------------------------------------------------------------


def _severity(deviation: float, money_at_stake: float, config: AlertConfig) -> Severity:
    """Base level from the size of the deviation, moved by the money spent under it."""
    if deviation >= config.severity_deviation_high:
        level = 2
    elif deviation >= config.severity_deviation_medium:
        level = 1
    else:
        level = 0
    if money_at_stake >= config.severity_spend_critical:
        level += 2
    elif money_at_stake >= config.severity_spend_high:
        level += 1
    elif money_at_stake < config.severity_spend_low:
        level -= 1
    return SEVERITY_ORDER[min(max(level, 0), len(SEVERITY_ORDER) - 1)]


def _currency(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _currency_suffix(currency: str | None) -> str:
    return f" {currency}" if currency else ""
