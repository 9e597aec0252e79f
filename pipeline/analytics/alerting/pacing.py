"""SPEND_PACING: spend against the daily budget, or the lifetime budget paced evenly.

A window fires when its spend / budget passes the window's ratio (``pacing_over_ratio`` /
``pacing_under_ratio``, against the budget or the campaign's usual weekday level where that is
further from 1) *and* the departure from the usual level is significant for this campaign: a
demand-limited campaign's spend moves with its demand (a small one's by a third from one day to
the next), a budget-limited one's hardly at all. The noise is the robust scatter (1.4826 x MAD) of
log(spend / usual level) over the baseline's windows of the same length (consecutive days, so
drifting demand counts), on the side of the departure (spend is capped by the budget: a campaign
close to it scatters downwards only), widened to Student's t; a window is significant beyond
``pacing_z`` of it. Budgets the advertiser changed are judged as in force now: the usual level is measured against
the current budget, so a raised or cut budget is not a pacing incident.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats as scipy_stats

from pipeline.analytics.alerting.context import Context, round6, suffix
from pipeline.analytics.alerting.frames import (
    Budget,
    Panel,
)
from pipeline.analytics.alerting.model import (
    Alert,
    AlertType,
    Check,
    EntityLevel,
    severity_for,
)
from pipeline.jsonable import jsonable

MAD_TO_SD = 1.4826


def pacing_alerts(context: Context) -> tuple[list[Alert], list[Check]]:
    panel, config = context.panel, context.config
    if not context.budgets:
        return [], []
    # A campaign-day without a row is zero delivery when its account reported that day, and
    # missing data otherwise.
    codes, keys = context.groups[EntityLevel.ACCOUNT]
    reported = np.zeros((len(keys), len(panel.days)), dtype=bool)
    np.logical_or.at(reported, codes, panel.has_row)
    account_reported = reported[codes]
    alerts: list[Alert] = []
    cleared: list[Check] = []
    for position, entity in enumerate(context.entities.itertuples(index=False)):
        budget = context.budgets.get((entity.platform, entity.account_id, entity.campaign_id))
        if budget is None or not budget.is_active:
            continue
        targets = np.array([budget.target(d) or np.nan for d in panel.days])
        known = panel.has_row[position] | account_reported[position]
        spend = panel.spend[position]
        best: tuple[float, int, str, float, float, float] | None = None
        scored: tuple[int, float, float] | None = None  # the shortest window with known delivery
        # A weekday that usually spends above (or below) its budget is judged against that usual
        # level, so a campaign's normal weekend dip or Monday surge is not news.
        usual = _usual_pacing(panel, position, targets, known)
        weekday_usual = _usual_pacing_by_weekday(panel, position, targets, known)
        weekday_usual = np.where(np.isnan(weekday_usual), 1.0 if usual is None else usual, weekday_usual)
        # Several windows are tested each morning: each gets its share of the tail (Bonferroni).
        z = config.pacing_z
        if config.window_multiplicity and len(config.pacing_windows) > 1 and z > 0:
            z = float(scipy_stats.norm.isf(scipy_stats.norm.sf(z) / len(config.pacing_windows)))
        noise_by_length = {
            length: _spend_noise(panel, position, targets * weekday_usual[panel.weekdays], known, length)
            for length in config.pacing_windows
        }
        for index, length in enumerate(config.pacing_windows):
            cols = panel.window(length)
            window_targets = targets[cols]
            if not known[cols].all() or not np.isfinite(window_targets).all():
                continue
            spent, target = float(spend[cols].sum()), float(window_targets.sum())
            scored = scored or (length, spent, target)
            usual_share = weekday_usual[panel.weekdays[cols]]
            over_reference = float((window_targets * np.maximum(usual_share, 1.0)).sum())
            under_reference = float((window_targets * np.minimum(usual_share, 1.0)).sum())
            over_ratio, under_ratio = spent / over_reference, spent / max(under_reference, 1e-9)
            usual_reference = float((window_targets * usual_share).sum())
            departure = _departure(spent, usual_reference, noise_by_length.get(length), z)
            if (
                over_ratio >= config.pacing_over_ratio[index]
                and spent - target >= config.pacing_min_amount
                and departure > 0
            ):
                direction, deviation = "over", 1.0 - 1.0 / over_ratio
            elif (
                under_ratio <= config.pacing_under_ratio[index]
                and under_reference - spent >= config.pacing_min_amount
                and departure < 0
            ):
                direction, deviation = "under", 1.0 - under_ratio
            else:
                continue
            if best is None or deviation > best[0]:
                best = (deviation, length, direction, spent, target, config.pacing_over_ratio[index]
                        if direction == "over" else config.pacing_under_ratio[index])  # fmt: skip
        if best is None or (best[2] == "under" and (usual is None or usual < config.pacing_under_usual_min)):
            key = (entity.platform, entity.account_id, entity.campaign_id)
            if scored is not None and context.wants_check(AlertType.SPEND_PACING, EntityLevel.CAMPAIGN, key):
                cleared.append(_pacing_check(context, position, *scored))
            continue
        deviation, length, direction, spent, target, threshold = best
        alerts.append(
            _pacing_alert(
                context,
                position,
                budget,
                length,
                direction,
                spent,
                target,
                threshold,
                deviation,
                usual,
                noise_by_length.get(length),
            )
        )
    return alerts, cleared


def _pacing_check(context: Context, position: int, length: int, spent: float, target: float) -> Check:
    entity = context.entities.iloc[position]
    key = (str(entity["platform"]), str(entity["account_id"]), str(entity["campaign_id"]))
    identity = context.identity(EntityLevel.CAMPAIGN, key)
    window = context.window_dates(length)
    return Check(
        alert_type=AlertType.SPEND_PACING,
        platform=key[0],
        account_id=key[1],
        entity_level=EntityLevel.CAMPAIGN,
        entity_id=key[2],
        window_start=window[0],
        window_end=window[1],
        evidence=jsonable(
            {
                "metric": "spend_to_budget",
                "value": spent / target,
                "baseline": 1.0,
                "window_start": window[0],
                "window_end": window[1],
                "window_days": length,
                "window_spend": spent,
                "window_budget": target,
                "currency": identity["currency"],
            }
        ),
    )


def _spend_noise(
    panel: Panel, position: int, usual_spend: np.ndarray, known: np.ndarray, length: int
) -> tuple[float, float, float] | None:
    """Robust scatter of log(spend / usual spend) over the baseline's ``length``-day windows, below
    and above its median (1.4826 x the median deviation of each side: spend is capped by the budget
    above, so a campaign spending close to it scatters downwards only), and the degrees of freedom
    it is worth; ``None`` with fewer than seven windows."""
    cols = panel.baseline
    usable = (known[cols] & np.isfinite(usual_spend[cols]) & (usual_spend[cols] > 0)).astype(float)
    spend = np.where(usable > 0, panel.spend[position, cols], 0.0)
    reference = np.where(usable > 0, usual_spend[cols], 0.0)
    kernel = np.ones(length)
    complete = np.convolve(usable, kernel, mode="valid") == length
    if complete.sum() < 7:
        return None
    spent = np.convolve(spend, kernel, mode="valid")[complete]
    expected = np.convolve(reference, kernel, mode="valid")[complete]
    logs = np.log(np.maximum(spent, 0.01 * expected) / expected)
    deviation = logs - np.median(logs)
    below = MAD_TO_SD * float(np.median(-deviation[deviation <= 0]))
    above = MAD_TO_SD * float(np.median(deviation[deviation >= 0]))
    # A MAD is worth ~37 % of as many normal observations; overlapping windows share days.
    return below, above, max(0.37 * float(usable.sum()) / length, 3.0)


def _departure(spent: float, reference: float, noise: tuple[float, float, float] | None, z: float) -> float:
    """+1 / -1 when spend is significantly above / below the usual level, else 0 (no noise
    estimate yet: any departure counts, the ratio thresholds alone decide)."""
    if reference <= 0:
        return 0.0
    log_ratio = math.log(max(spent, 0.01 * reference) / reference)
    if noise is None:
        return float(np.sign(log_ratio))
    below, above, df = noise
    limit = _t_quantile(z, round(df, 1)) * (below if log_ratio < 0 else above)
    return float(np.sign(log_ratio)) if abs(log_ratio) > limit else 0.0


@functools.lru_cache(maxsize=256)
def _t_quantile(z: float, df: float) -> float:
    """Student's t quantile with the one-sided normal tail of ``z``."""
    return float(scipy_stats.t.isf(scipy_stats.norm.sf(z), df))


def _usual_pacing_by_weekday(
    panel: Panel, position: int, targets: np.ndarray, known: np.ndarray
) -> np.ndarray:
    """Per weekday, the median spend / budget of the baseline's same weekdays (nan with fewer than
    three of them)."""
    cols = panel.baseline
    usable = known[cols] & np.isfinite(targets[cols])
    ratios = np.where(usable, panel.spend[position, cols] / np.where(usable, targets[cols], 1.0), np.nan)
    weekdays = panel.weekdays[cols]
    out = np.full(7, np.nan)
    for weekday in range(7):
        values = ratios[(weekdays == weekday) & usable]
        if values.size >= 3:
            out[weekday] = float(np.median(values))
    return out


def _usual_pacing(panel: Panel, position: int, targets: np.ndarray, known: np.ndarray) -> float | None:
    """Median spend / budget over the baseline days with a budget and known delivery."""
    cols = panel.baseline
    usable = known[cols] & np.isfinite(targets[cols])
    if usable.sum() < 7:
        return None
    ratios = panel.spend[position, cols][usable] / targets[cols][usable]
    return float(np.median(ratios))


def _pacing_alert(
    context: Context,
    position: int,
    budget: Budget,
    length: int,
    direction: str,
    spent: float,
    target: float,
    threshold: float,
    deviation: float,
    usual: float | None,
    noise: tuple[float, float, float] | None = None,
) -> Alert:
    entity = context.entities.iloc[position]
    key = (str(entity["platform"]), str(entity["account_id"]), str(entity["campaign_id"]))
    identity = context.identity(EntityLevel.CAMPAIGN, key)
    currency = identity.pop("currency")
    window = context.window_dates(length)
    ratio = spent / target
    money = abs(spent - target)
    cols = context.panel.window(length)
    evidence = {
        "metric": "spend_to_budget",
        "direction": direction,
        "value": ratio,
        "baseline": 1.0,
        "threshold": threshold,
        "window_start": window[0].isoformat(),
        "window_end": window[1].isoformat(),
        "window_days": length,
        "window_spend": spent,
        "window_budget": target,
        "money_at_stake": money,
        "usual_spend_to_budget": usual,
        # The campaign's own spread of log(spend / usual level) over windows of this length.
        "spend_noise_log_sd": None if noise is None else (noise[0] if direction == "under" else noise[1]),
        "budget_type": budget.kind,
        "daily_budget": budget.daily_budget,
        "lifetime_budget": budget.lifetime_budget,
        "budget_start": budget.start.isoformat() if budget.start else None,
        "budget_end": budget.end.isoformat() if budget.end else None,
        "currency": currency,
        "daily": [
            {
                "date": context.panel.days[c].isoformat(),
                "spend": round6(context.panel.spend[position, c]),
                "budget": budget.target(context.panel.days[c]),
                "reported": bool(context.panel.has_row[position, c]),
            }
            for c in range(cols.start, cols.stop)
        ],
        "thresholds": context.config.thresholds(AlertType.SPEND_PACING),
        "signal_health": context.signal_health(EntityLevel.CAMPAIGN, key, window),
    }
    name = identity["entity_name"]
    budget_text = (
        f"daily budget {budget.daily_budget:,.2f}"
        if budget.kind == "daily"
        else f"lifetime budget {budget.lifetime_budget:,.2f} paced evenly over {budget.start}..{budget.end}"
    )
    verb = "over-delivering" if direction == "over" else "under-delivering"
    return Alert(
        alert_type=AlertType.SPEND_PACING,
        severity=severity_for(deviation, money, context.config),
        **identity,
        metric="spend_to_budget",
        value=ratio,
        baseline=1.0,
        threshold=threshold,
        window_start=window[0],
        window_end=window[1],
        title=f"{name}: {verb}, {ratio:.0%} of budget",
        message=(
            f"{context.describe(identity)} spent {spent:,.2f}{suffix(currency)} from {window[0]} to "
            f"{window[1]} against {target:,.2f} of budget ({budget_text}): {ratio:.0%}, alert at "
            f"{'>=' if direction == 'over' else '<='} {threshold:.0%}"
            + (f"; it usually spends {usual:.0%}." if usual is not None else ".")
        ),
        evidence=jsonable(evidence),
    )
