"""Alert types, the alert record, the detector's configuration and the severity rule."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any


class AlertType(StrEnum):
    # business alerts from the daily facts
    ROAS_DROP = "ROAS_DROP"
    CPA_SPIKE = "CPA_SPIKE"
    ZERO_CONVERSIONS = "ZERO_CONVERSIONS"
    CTR_DROP = "CTR_DROP"
    SPEND_PACING = "SPEND_PACING"
    # business alerts from the intraday (hourly) facts
    SPEND_SPIKE = "SPEND_SPIKE"
    CPC_SPIKE = "CPC_SPIKE"
    # alerts about the data itself, from fct_signal_health_daily
    DATA_STALE = "DATA_STALE"
    DATA_INCOMPLETE = "DATA_INCOMPLETE"
    DATA_INCONSISTENT = "DATA_INCONSISTENT"

    @property
    def is_data_alert(self) -> bool:
        return self in DATA_ALERT_TYPES


DATA_ALERT_TYPES = frozenset({AlertType.DATA_STALE, AlertType.DATA_INCOMPLETE, AlertType.DATA_INCONSISTENT})
DAILY_ALERT_TYPES = (
    AlertType.ZERO_CONVERSIONS,
    AlertType.ROAS_DROP,
    AlertType.CPA_SPIKE,
    AlertType.CTR_DROP,
    AlertType.CPC_SPIKE,
    AlertType.SPEND_PACING,
)
HOURLY_ALERT_TYPES = (AlertType.SPEND_SPIKE, AlertType.CPC_SPIKE)


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


SEVERITY_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class EntityLevel(StrEnum):
    CAMPAIGN = "campaign"
    ACCOUNT = "account"
    PLATFORM = "platform"


LEVEL_ORDER = [EntityLevel.PLATFORM, EntityLevel.ACCOUNT, EntityLevel.CAMPAIGN]


@dataclass(frozen=True)
class Alert:
    """One finding about one campaign, account or platform, with the evidence it was decided on.

    ``value``, ``baseline`` and ``threshold`` are in the unit of ``metric`` (ratios as ratios, money
    in the account currency); ``window_start``..``window_end`` are the complete days (account-local)
    the finding is about. ``evidence`` is JSON-ready (ISO dates, plain floats) and always holds a
    ``signal_health`` summary of the data used. ``suppressed_reason`` is ``None`` for an alert that
    should reach people, or says why it is held (data not healthy, rolled up into a broader alert,
    explained by a narrower one): held alerts are returned, not dropped, so they can be audited.
    """

    alert_type: AlertType
    severity: Severity
    platform: str
    account_id: str | None
    entity_level: EntityLevel
    entity_id: str
    entity_name: str
    campaign_id: str | None
    metric: str
    value: float | None
    baseline: float | None
    threshold: float | None
    window_start: date
    window_end: date
    title: str
    message: str
    # Excluded from hashing: a dict is not hashable.
    evidence: dict[str, Any] = field(default_factory=dict, hash=False)
    suppressed_reason: str | None = None

    @property
    def is_suppressed(self) -> bool:
        return self.suppressed_reason is not None

    @property
    def campaign_name(self) -> str | None:
        """The campaign's name for campaign-level alerts (kept for callers of the first version)."""
        return self.entity_name if self.entity_level == EntityLevel.CAMPAIGN else None

    @property
    def scope(self) -> tuple[str, str, str]:
        """(alert type, entity level, entity id): what ``app.alerts`` keeps one live alert per."""
        return (self.alert_type.value, self.entity_level.value, self.entity_id)


@dataclass(frozen=True)
class Check:
    """A test the detector ran on healthy, complete data that did *not* fire.

    It is the evidence that a live alert of the same scope has recovered: ``app.alerts`` resolves
    that alert with it. Entities the detector could not score (too little data or volume, a
    missing day, unhealthy signal health) get no check, so an alert is never resolved because its
    data went missing. ``covers_since`` (data alerts): the first day the check re-examined; an
    alert about older days is not cleared by it.
    """

    alert_type: AlertType
    platform: str
    account_id: str | None
    entity_level: EntityLevel
    entity_id: str
    window_start: date
    window_end: date
    evidence: dict[str, Any] = field(default_factory=dict, hash=False)
    covers_since: date | None = None

    @property
    def scope(self) -> tuple[str, str, str]:
        return (self.alert_type.value, self.entity_level.value, self.entity_id)


@dataclass(frozen=True)
class Detection:
    """One detector run: the alerts it raised, the checks that passed (recoveries), and the alert
    types it evaluated (the only types whose live alerts it may resolve)."""

    alerts: list[Alert]
    cleared: list[Check]
    alert_types: tuple[AlertType, ...]


# Which config fields belong to which alert type (copied into each alert's evidence).
_CONFIG_PREFIXES: dict[AlertType, tuple[str, ...]] = {
    AlertType.ROAS_DROP: ("roas_",),
    AlertType.CPA_SPIKE: ("cpa_",),
    AlertType.ZERO_CONVERSIONS: ("zero_",),
    AlertType.CTR_DROP: ("ctr_",),
    AlertType.SPEND_PACING: ("pacing_",),
    AlertType.SPEND_SPIKE: ("hourly_min_hours", "hourly_baseline", "hourly_spend_"),
    AlertType.CPC_SPIKE: ("cpc_", "hourly_min_hours", "hourly_baseline", "hourly_cpc_"),
}


@dataclass(frozen=True)
class AlertConfig:
    """Thresholds of the detectors, per alert type (prefix ``roas_``, ``cpa_``, ``zero_``, ``ctr_``,
    ``cpc_``, ``pacing_``, ``hourly_``) plus the baseline and severity rules they share.

    Money thresholds are in each account's currency. Ratio tests fire when the relative change is at
    least ``<type>_min_*`` *and* at least ``<type>_z`` standard deviations of the noise expected for
    that entity (its own day-to-day scatter, robustly measured, and never less than Poisson noise of
    the counts), so large entities alert on moderate changes and small ones only on large changes.
    """

    # --- baseline --------------------------------------------------------------------------------
    # Training window: the `baseline_days` days before the scored period. The scored period is the
    # last `scored_days` complete days (the longest window any daily test looks at), so no scored
    # day ever trains its own baseline.
    baseline_days: int = 28
    # 4: an incident has had four complete days by the time a three-day detection delay runs out.
    scored_days: int = 4
    min_baseline_days: int = 14
    # Expected values per weekday: the same weekday's rate in the baseline, shrunk towards the
    # all-days rate as far as the weekdays differ no more than noise would make them (empirical
    # Bayes); False: one rate for all days.
    same_weekday_baseline: bool = True
    # Baseline days further than this many robust standard deviations from the fit (past incidents,
    # outages) are left out of it, at most `max_outlier_share` of the days.
    outlier_z: float = 3.5
    max_outlier_share: float = 0.25
    # Expected share of a day's final conversions (and value) already reported, by age in days
    # (index 0 = yesterday, i.e. one day before as_of); 1.0 for older days. Close to, and if
    # anything above, typical restatement: under-correcting only costs a little sensitivity,
    # over-correcting would invent recoveries and hide drops.
    recent_maturity: tuple[float, ...] = (0.85, 0.91, 0.94, 0.96, 0.97, 0.98)
    maturity_by_platform: Mapping[str, tuple[float, ...]] = field(default_factory=dict, hash=False)
    # How uncertain that share is: a relative sd of this x the share still to come (yesterday at
    # 85 %: 7.5 %), added to the noise of the rate tests on recent days. 0: the curve is exact.
    maturity_uncertainty: float = 0.5
    levels: tuple[EntityLevel, ...] = (EntityLevel.CAMPAIGN, EntityLevel.ACCOUNT, EntityLevel.PLATFORM)
    alert_types: tuple[AlertType, ...] = tuple(dict.fromkeys(DAILY_ALERT_TYPES + HOURLY_ALERT_TYPES))
    # A broader alert with at least this many narrower alerts of its family under it carries them
    # (they are held as rolled up); with fewer it is their echo and is held instead.
    rollup_min_children: int = 3

    # --- ROAS_DROP: conversion value per spend, windows of 1 to 4 days -----------------------------
    # Conversion tests are tested on their counts' exact tail. One z for every rate test: 3.0 is a
    # one-sided tail of 0.13 % per test. Measured on worlds with real (Poisson or wider) count
    # noise (`make bench-alerts`, family "compound"), 2.75 gave 0.28 false alerts per
    # campaign-month at recall 0.86, 3.0 gave 0.14 at 0.79 and 3.25 gave 0.07 at 0.78.
    roas_windows: tuple[int, ...] = (1, 2, 3, 4)
    # ROAS and CPA on a 1-day window need this much more z (yesterday alone is mostly restatement
    # and day-to-day noise); on the "compound" family dropping the 1-day window altogether cut
    # false alerts by a fifth at the same recall and median delay.
    one_day_extra_z: float = 0.5
    # Each rate test's tail is shared among its windows (Bonferroni): picking the most significant
    # of four windows every morning would otherwise fire up to four times as often by chance.
    window_multiplicity: bool = True
    roas_min_drop: float = 0.3
    roas_z: float = 3.0
    roas_min_window_spend: float = 100.0
    roas_min_baseline_conversions: float = 20.0
    roas_min_expected_conversions: float = 5.0
    # Value per conversion is judged on its own noise too (a broken value parameter or currency
    # with conversions steady); the mean of fewer order values than this is no evidence.
    roas_value_min_conversions: float = 10.0

    # --- CPA_SPIKE: spend per conversion ------------------------------------------------------------
    cpa_windows: tuple[int, ...] = (1, 2, 3, 4)
    cpa_min_increase: float = 0.5
    cpa_z: float = 3.0
    cpa_min_window_spend: float = 100.0
    cpa_min_baseline_conversions: float = 20.0
    cpa_min_expected_conversions: float = 5.0

    # --- ZERO_CONVERSIONS: the last 1..scored_days days without a conversion while spending --------
    zero_min_spend: float = 50.0
    # Conversions those days should have reported at the baseline rate: at 8, zero happens by
    # chance with probability e^-8 (0.03 %) per test.
    zero_min_expected: float = 8.0
    # Fewer expected than `zero_min_expected` but at least this many (zero by chance: e^-2, 14 %;
    # above `zero_min_expected` it has no effect):
    # the alert is returned held as inconclusive, with the expected count and the probability of
    # zero by chance, and becomes active once the quiet days have accumulated enough.
    zero_inconclusive_min_expected: float = 2.0
    zero_min_baseline_conversions: float = 10.0

    # --- CTR_DROP: clicks per impression -----------------------------------------------------------
    ctr_windows: tuple[int, ...] = (1, 2, 3)
    ctr_min_drop: float = 0.3
    ctr_z: float = 3.0
    ctr_min_window_spend: float = 50.0
    ctr_min_baseline_clicks: float = 300.0
    ctr_min_expected_clicks: float = 50.0

    # --- CPC_SPIKE (daily): spend per click; clicks are plentiful, so this is a precise test -------
    cpc_windows: tuple[int, ...] = (1, 2, 3)
    cpc_min_increase: float = 0.5
    cpc_z: float = 3.0
    cpc_min_window_spend: float = 50.0
    cpc_min_baseline_clicks: float = 300.0
    cpc_min_expected_clicks: float = 50.0

    # --- SPEND_PACING: spend against the daily budget (or the lifetime budget paced evenly) --------
    pacing_windows: tuple[int, ...] = (1, 2, 3)
    # Per window: over-delivery at spend/budget >= ratio, under-delivery at <= ratio. Platforms
    # may spend ~25 % over the daily budget on a single day, hence the 1-day margin (raise it for
    # Google Ads / Microsoft Ads, which may spend up to 2x on a day within the monthly cap).
    pacing_over_ratio: tuple[float, ...] = (1.35, 1.25, 1.2)
    pacing_under_ratio: tuple[float, ...] = (0.5, 0.55, 0.6)
    # Each weekday is judged against the budget, or against the campaign's usual spend / budget on
    # that weekday (median of the baseline's same weekdays) where that is further from 1: a
    # campaign that usually spends 60 % of its budget under-delivers at 30 %, not every day. One
    # that usually spends less than this share (barely delivering) is not judged on under-delivery.
    pacing_under_usual_min: float = 0.2
    pacing_min_amount: float = 25.0
    # ... and only when spend is this many of the campaign's own robust sds (log spend / usual
    # level over baseline windows of the same length, Student's t) from its usual level.
    pacing_z: float = 3.0

    # --- hourly SPEND_SPIKE / CPC_SPIKE: today so far vs the same hours of the previous days -------
    hourly_min_hours: int = 4
    hourly_baseline_days: int = 6
    hourly_baseline_min_days: int = 3
    hourly_spend_ratio: float = 1.5
    hourly_spend_z: float = 3.0
    hourly_spend_min_spend: float = 50.0
    hourly_spend_min_excess: float = 25.0
    hourly_cpc_ratio: float = 1.5
    hourly_cpc_z: float = 3.0
    hourly_cpc_min_clicks: float = 30.0
    hourly_cpc_min_spend: float = 25.0

    # --- severity ----------------------------------------------------------------------------------
    # The deviation (share of the expected performance lost, 0..1) sets a base level LOW / MEDIUM /
    # HIGH; the money at stake in the window moves it: +1 at or above `high`, +2 at or above
    # `critical`, -1 below `low`. Data alerts start at MEDIUM (degraded) or HIGH (unhealthy).
    severity_deviation_medium: float = 0.5
    severity_deviation_high: float = 0.8
    severity_spend_low: float = 100.0
    severity_spend_high: float = 1_000.0
    severity_spend_critical: float = 5_000.0

    def __post_init__(self) -> None:
        if min(self.baseline_days, self.scored_days, self.min_baseline_days) < 1:
            raise ValueError("baseline_days, scored_days and min_baseline_days must be at least 1")
        if self.min_baseline_days > self.baseline_days:
            raise ValueError("min_baseline_days cannot exceed baseline_days")
        if self.scored_days > 7:
            raise ValueError("scored_days must be at most 7 (same-weekday baselines need it)")
        for name in ("roas_windows", "cpa_windows", "ctr_windows", "cpc_windows", "pacing_windows"):
            windows = getattr(self, name)
            if not windows or any(not 1 <= w <= self.scored_days for w in windows):
                raise ValueError(f"{name} must be non-empty lengths between 1 and scored_days")
        if not (len(self.pacing_over_ratio) == len(self.pacing_under_ratio) == len(self.pacing_windows)):
            raise ValueError("pacing_over_ratio and pacing_under_ratio need one value per pacing window")
        for name in ("roas_min_drop", "ctr_min_drop"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 0 <= self.one_day_extra_z <= 10:
            raise ValueError("one_day_extra_z must be between 0 and 10")
        if not 1 <= self.roas_value_min_conversions < math.inf:
            raise ValueError("roas_value_min_conversions must be at least 1")
        if not 0 < self.zero_inconclusive_min_expected < math.inf:
            raise ValueError("zero_inconclusive_min_expected must be positive")
        if not 0 <= self.pacing_under_usual_min <= 1:
            raise ValueError("pacing_under_usual_min must be between 0 and 1")
        if self.cpa_min_increase <= 0 or self.cpc_min_increase <= 0:
            raise ValueError("cpa_min_increase and cpc_min_increase must be positive")
        if not 0 <= self.maturity_uncertainty <= 1:
            raise ValueError("maturity_uncertainty must be between 0 and 1")
        for maturity in (self.recent_maturity, *self.maturity_by_platform.values()):
            if any(not 0 < m <= 1 for m in maturity):
                raise ValueError("maturity values must be in (0, 1]")

    def maturity(self, age_days: int, platform: str | None = None) -> float:
        """Expected share of final conversions reported for a day ``age_days`` before as_of."""
        curve = self.maturity_by_platform.get(platform, self.recent_maturity) if platform else None
        curve = curve if curve is not None else self.recent_maturity
        index = age_days - 1
        return curve[index] if 0 <= index < len(curve) else 1.0

    def thresholds(self, alert_type: AlertType) -> dict[str, Any]:
        """The config fields that govern ``alert_type`` (JSON-ready), for evidence."""
        prefixes = _CONFIG_PREFIXES.get(alert_type, ())
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
            if f.name.startswith(prefixes)
        }


def severity_for(
    deviation: float, money_at_stake: float | None, config: AlertConfig, base: int | None = None
) -> Severity:
    """Base level from the size of the deviation (or ``base``), moved by the money at stake."""
    if base is not None:
        level = base
    elif deviation >= config.severity_deviation_high:
        level = 2
    elif deviation >= config.severity_deviation_medium:
        level = 1
    else:
        level = 0
    if money_at_stake is not None:
        if money_at_stake >= config.severity_spend_critical:
            level += 2
        elif money_at_stake >= config.severity_spend_high:
            level += 1
        elif money_at_stake < config.severity_spend_low:
            level -= 1
    return SEVERITY_ORDER[min(max(level, 0), len(SEVERITY_ORDER) - 1)]


def sort_key(alert: Alert) -> tuple[Any, ...]:
    """Active before held, then severity (highest first), type, platform, account, level, entity."""
    return (
        alert.is_suppressed,
        -SEVERITY_ORDER.index(alert.severity),
        alert.alert_type.value,
        alert.platform,
        alert.account_id or "",
        LEVEL_ORDER.index(alert.entity_level),
        alert.entity_id,
        alert.window_start,
    )
