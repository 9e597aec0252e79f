"""Intraday alerts from the hourly facts: SPEND_SPIKE and CPC_SPIKE.

Today so far (the complete local hours 0..H) is compared with the same hours of each of the
previous ``hourly_baseline_days`` days (the hourly marts keep a week): the baseline is the median
over those days, the noise the robust spread (MAD) of their logs, so one odd day neither sets nor
widens the baseline. Hourly data does not restate, so no maturity adjustment is needed.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analytics.alerting.baseline import MAD_TO_SD
from pipeline.analytics.alerting.combine import roll_up
from pipeline.analytics.alerting.context import GROUP_COLUMNS, suffix
from pipeline.analytics.alerting.frames import to_dates, to_float
from pipeline.analytics.alerting.model import (
    HOURLY_ALERT_TYPES,
    Alert,
    AlertConfig,
    AlertType,
    Check,
    Detection,
    EntityLevel,
    severity_for,
    sort_key,
)
from pipeline.jsonable import jsonable

HOURLY_REQUIRED_COLUMNS = [
    "hour_start_local", "date_day", "hour_of_day", "platform", "account_id", "campaign_id", "campaign_name",
    "spend", "clicks", "impressions", "conversions", "conversion_value",
]  # fmt: skip
_SIGNAL_HEALTH = {
    "status": "not_assessed",
    "note": "intraday data; signal health facts cover complete days only",
}


def detect_hourly_alerts(
    campaign_hourly: pd.DataFrame,
    now: datetime,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
) -> list[Alert]:
    """Spend and CPC spikes today so far, per campaign and account.

    ``campaign_hourly``: ``marts.fct_campaign_performance_hourly`` rows (hour_start_local,
    date_day, hour_of_day, platform, account_id, campaign_id, campaign_name, spend, clicks,
    impressions, conversions, conversion_value; optional currency and hour_start_utc) for today
    and the previous ``hourly_baseline_days`` days.

    ``now``: a naive datetime is each account's local wall-clock time; an aware one is converted
    to each account's local time through the frame's hour_start_utc (required then). Hours are
    scored once complete (hour h once local time reaches h+1:00), from ``hourly_min_hours``
    complete hours on.

    SPEND_SPIKE fires when spend so far is at least ``hourly_spend_ratio`` times the median of the
    same hours on previous days (and beyond ``hourly_spend_z`` robust standard deviations of their
    logs), with at least ``hourly_spend_min_spend`` spent and ``hourly_spend_min_excess`` above the
    baseline. CPC_SPIKE likewise for spend per click, with at least ``hourly_cpc_min_clicks``
    clicks so far; its noise floor is Poisson noise of the clicks.
    """
    return evaluate_hourly_alerts(campaign_hourly, now, config).alerts


def evaluate_hourly_alerts(
    campaign_hourly: pd.DataFrame,
    now: datetime,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
) -> Detection:
    """:func:`detect_hourly_alerts` plus the checks that passed (for the alert lifecycle).

    An entity counts as scored only when its account's hours are current (a row for the last
    complete hour today) and it has enough previous days (and, for CPC, clicks today): a sync
    that fell behind never resolves an alert.
    """
    missing = [c for c in HOURLY_REQUIRED_COLUMNS if c not in campaign_hourly.columns]
    if missing:
        raise ValueError(f"campaign_hourly lacks columns: {', '.join(missing)}")
    enabled = set(config.alert_types)
    types = tuple(t for t in HOURLY_ALERT_TYPES if t in enabled)
    if campaign_hourly.empty:
        return Detection([], [], types)
    frame = _prepare(campaign_hourly, now, config)
    if frame.empty:
        return Detection([], [], types)

    alerts: list[Alert] = []
    cleared: list[Check] = []
    for level in (lv for lv in config.levels if lv != EntityLevel.PLATFORM):
        columns = GROUP_COLUMNS[level]
        daily = frame.groupby([*columns, "date_day"], sort=True)[["spend", "clicks", "impressions"]].sum()
        info = frame.groupby(columns, sort=True).agg(
            today=("today", "first"),
            last_hour=("last_hour", "first"),
            current=("current", "first"),
            campaign_name=("campaign_name", "last"),
            currency=("currency", "last"),
        )
        for key, entity in info.iterrows():
            key = key if isinstance(key, tuple) else (key,)
            days = daily.loc[key] if len(key) > 1 else daily.loc[key[0]]
            for alert_type, test in (
                (AlertType.SPEND_SPIKE, _spend_spike),
                (AlertType.CPC_SPIKE, _cpc_spike),
            ):
                if alert_type not in enabled:
                    continue
                outcome = test(level, key, entity, days, config)
                if isinstance(outcome, Alert):
                    alerts.append(outcome)
                elif outcome is not None and entity["current"]:
                    cleared.append(_check(alert_type, level, key, entity, outcome))
    return Detection(sorted(roll_up(alerts, config), key=sort_key), cleared, types)


def _check(
    alert_type: AlertType,
    level: EntityLevel,
    key: tuple[str, ...],
    entity: pd.Series,
    figures: dict[str, Any],
) -> Check:
    today: date = entity["today"]
    return Check(
        alert_type=alert_type,
        platform=key[0],
        account_id=key[1],
        entity_level=level,
        entity_id=key[2] if level == EntityLevel.CAMPAIGN else key[1],
        window_start=today,
        window_end=today,
        evidence=jsonable({**figures, "date": today, "hours": f"00:00-{int(entity['last_hour']):02d}:59"}),
    )


def _prepare(campaign_hourly: pd.DataFrame, now: datetime, config: AlertConfig) -> pd.DataFrame:
    frame = campaign_hourly.copy()
    for column in ("platform", "account_id", "campaign_id"):
        frame[column] = frame[column].astype(str)
    frame["date_day"] = to_dates(frame["date_day"])
    frame["hour_of_day"] = pd.to_numeric(frame["hour_of_day"]).astype(int)
    frame["hour_start_local"] = pd.to_datetime(frame["hour_start_local"])
    for column in ("spend", "clicks", "impressions"):
        frame[column] = to_float(frame[column])
    frame["campaign_name"] = frame["campaign_name"].where(
        frame["campaign_name"].notna(), frame["campaign_id"]
    )
    if "currency" not in frame.columns:
        frame["currency"] = None

    # Local "now" per account: the wall clock itself, or the aware instant shifted by the
    # account's UTC offset as its latest hour shows it.
    local_now: dict[tuple[str, str], datetime] = {}
    for (platform, account_id), rows in frame.groupby(["platform", "account_id"], sort=True):
        if now.tzinfo is None:
            local_now[(platform, account_id)] = now
            continue
        if "hour_start_utc" not in rows.columns:
            raise ValueError("an aware `now` needs hour_start_utc in campaign_hourly (or pass local time)")
        latest = rows.sort_values("hour_start_local").iloc[-1]
        utc = pd.Timestamp(latest["hour_start_utc"])
        utc = utc.tz_convert(UTC).tz_localize(None) if utc.tzinfo else utc
        offset = pd.Timestamp(latest["hour_start_local"]) - utc
        local = pd.Timestamp(now.astimezone(UTC).replace(tzinfo=None)) + offset
        local_now[(platform, account_id)] = local.to_pydatetime()

    accounts = pd.DataFrame(
        [(p, a, n.date(), n.hour - 1) for (p, a), n in local_now.items()],
        columns=["platform", "account_id", "today", "last_hour"],
    )
    frame = frame.merge(accounts, on=["platform", "account_id"])
    first_day = frame["today"] - timedelta(days=config.hourly_baseline_days)
    keep = (
        (frame["last_hour"] + 1 >= config.hourly_min_hours)
        & (frame["hour_of_day"] <= frame["last_hour"])
        & (frame["date_day"] <= frame["today"])
        & (frame["date_day"] >= first_day)
    )
    frame = frame[keep].copy()
    # An account's hours are current when its last complete hour today has arrived.
    latest = (frame["date_day"] == frame["today"]) & (frame["hour_of_day"] == frame["last_hour"])
    current = latest.groupby([frame["platform"], frame["account_id"]]).any().rename("current").reset_index()
    return frame.merge(current, on=["platform", "account_id"])


def _series(days: pd.DataFrame, today: date, column: str) -> tuple[float, dict[date, float]]:
    values = {d: float(v) for d, v in days[column].items()}
    return values.pop(today, 0.0), values


def _robust_log_sd(values: list[float]) -> float:
    logs = np.log(np.asarray(values))
    return float(MAD_TO_SD * np.median(np.abs(logs - np.median(logs))))


def _spend_spike(
    level: EntityLevel, key: tuple[str, ...], entity: pd.Series, days: pd.DataFrame, config: AlertConfig
) -> Alert | dict[str, Any] | None:
    """The alert, or the figures of a passed test, or ``None`` when it could not be scored."""
    today_spend, previous = _series(days, entity["today"], "spend")
    history = {d: v for d, v in previous.items() if v > 0}
    if len(history) < config.hourly_baseline_min_days:
        return None
    baseline = float(np.median(list(history.values())))
    passed = {"metric": "spend", "value": today_spend, "baseline": baseline}
    if today_spend < config.hourly_spend_min_spend:
        return passed
    spread = _robust_log_sd(list(history.values()))
    required = max(config.hourly_spend_ratio, math.exp(config.hourly_spend_z * spread))
    ratio = today_spend / baseline
    if ratio < required or today_spend - baseline < config.hourly_spend_min_excess:
        return passed | {"threshold": baseline * required}
    excess = today_spend - baseline
    evidence = {
        "spend_so_far": today_spend,
        "baseline_spend_same_hours": baseline,
        "ratio": ratio,
        "required_ratio": required,
        "log_spread": spread,
        "money_at_stake": excess,
        "previous_days": [{"date": d.isoformat(), "spend": v} for d, v in sorted(previous.items())],
    }
    return _alert(
        AlertType.SPEND_SPIKE, level, key, entity, config, "spend", today_spend, baseline, baseline * required,
        1.0 - 1.0 / ratio, excess, evidence,
        title=f"spend so far {ratio:.1f}x the usual for these hours",
        text=(
            f"spent {today_spend:,.2f}{suffix(entity['currency'])} today through "
            f"{int(entity['last_hour']):02d}:59 against a median of {baseline:,.2f} by that hour on the "
            f"previous days ({ratio:.1f}x; alert at {required:.1f}x)."
        ),
    )  # fmt: skip


def _cpc_spike(
    level: EntityLevel, key: tuple[str, ...], entity: pd.Series, days: pd.DataFrame, config: AlertConfig
) -> Alert | dict[str, Any] | None:
    """The alert, or the figures of a passed test, or ``None`` when it could not be scored."""
    today_spend, previous_spend = _series(days, entity["today"], "spend")
    today_clicks, previous_clicks = _series(days, entity["today"], "clicks")
    if today_clicks < config.hourly_cpc_min_clicks or today_spend < config.hourly_cpc_min_spend:
        return None
    cpcs = {
        d: previous_spend[d] / c for d, c in previous_clicks.items() if c > 0 and previous_spend.get(d, 0) > 0
    }
    if len(cpcs) < config.hourly_baseline_min_days:
        return None
    baseline = float(np.median(list(cpcs.values())))
    typical_clicks = float(np.median([previous_clicks[d] for d in cpcs]))
    spread = max(_robust_log_sd(list(cpcs.values())), math.sqrt(1 / today_clicks + 1 / typical_clicks))
    required = max(config.hourly_cpc_ratio, math.exp(config.hourly_cpc_z * spread))
    cpc = today_spend / today_clicks
    ratio = cpc / baseline
    if ratio < required:
        return {"metric": "cpc", "value": cpc, "baseline": baseline, "threshold": baseline * required}
    evidence = {
        "cpc_so_far": cpc,
        "spend_so_far": today_spend,
        "clicks_so_far": today_clicks,
        "baseline_cpc_same_hours": baseline,
        "ratio": ratio,
        "required_ratio": required,
        "log_spread": spread,
        "money_at_stake": today_spend - today_clicks * baseline,
        "previous_days": [
            {"date": d.isoformat(), "spend": previous_spend.get(d, 0.0), "clicks": previous_clicks[d]}
            for d in sorted(previous_clicks)
        ],
    }
    return _alert(
        AlertType.CPC_SPIKE, level, key, entity, config, "cpc", cpc, baseline, baseline * required,
        1.0 - 1.0 / ratio, today_spend, evidence,
        title=f"CPC so far {ratio:.1f}x the usual for these hours",
        text=(
            f"paid {cpc:,.2f}{suffix(entity['currency'])} per click today through "
            f"{int(entity['last_hour']):02d}:59 ({today_clicks:,.0f} clicks) against a median of "
            f"{baseline:,.2f} by that hour on the previous days ({ratio:.1f}x; alert at {required:.1f}x)."
        ),
    )  # fmt: skip


def _alert(
    alert_type: AlertType,
    level: EntityLevel,
    key: tuple[str, ...],
    entity: pd.Series,
    config: AlertConfig,
    metric: str,
    value: float,
    baseline: float,
    threshold: float,
    deviation: float,
    money: float,
    evidence: dict[str, Any],
    *,
    title: str,
    text: str,
) -> Alert:
    today: date = entity["today"]
    if level == EntityLevel.CAMPAIGN:
        name, entity_id, campaign_id = str(entity["campaign_name"]), key[2], key[2]
        who = f"Campaign '{name}' ({key[0]} account {key[1]})"
    else:
        name, entity_id, campaign_id = key[1], key[1], None
        who = f"{key[0]} account {key[1]}"
    currency = entity["currency"] if isinstance(entity["currency"], str) else None
    return Alert(
        alert_type=alert_type,
        severity=severity_for(deviation, money, config),
        platform=key[0],
        account_id=key[1],
        entity_level=level,
        entity_id=entity_id,
        entity_name=name,
        campaign_id=campaign_id,
        metric=metric,
        value=value,
        baseline=baseline,
        threshold=threshold,
        window_start=today,
        window_end=today,
        title=f"{name}: {title}",
        message=f"{who} {text}",
        evidence=jsonable(
            {
                "metric": metric,
                "value": value,
                "baseline": baseline,
                "threshold": threshold,
                "date": today.isoformat(),
                "hours": f"00:00-{int(entity['last_hour']):02d}:59",
                "last_complete_hour": int(entity["last_hour"]),
                "currency": currency,
                **evidence,
                "thresholds": config.thresholds(alert_type),
                "signal_health": dict(_SIGNAL_HEALTH),
            }
        ),
    )
