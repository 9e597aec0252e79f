"""ZERO_CONVERSIONS: the last days spent without a conversion."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from pipeline.analytics.alerting.context import Context, suffix
from pipeline.analytics.alerting.frames import Panel
from pipeline.analytics.alerting.model import (
    Alert,
    AlertType,
    Check,
    EntityLevel,
    Severity,
    severity_for,
)
from pipeline.jsonable import jsonable


def zero_conversion_alerts(context: Context) -> tuple[list[Alert], list[Check]]:
    panel, config = context.panel, context.config
    # The run of quiet days may reach back into the baseline: a small campaign's evidence
    # accumulates over more days than the scored period.
    cols = slice(0, len(panel.days))
    model = context.conversion_model
    ok = context.model_ok(model)
    expected = np.where(
        ok[:, None],
        model.expected(panel.weekdays[cols], panel.spend[:, cols], panel.maturity[:, cols]),
        0.0,
    )
    expected = _without_the_run(panel, expected, config.scored_days)
    arrays = {
        "conversions": panel.conversions[:, cols],
        "spend": panel.spend[:, cols],
        "has_row": panel.has_row[:, cols].astype(float),
        "expected": expected,
    }
    baseline_counts = np.where(ok, model.counts, 0.0)
    alerts: list[Alert] = []
    cleared: list[Check] = []
    for level in config.levels:
        keys, grouped, baseline = group_arrays(context, level, arrays, baseline_counts)
        run = _trailing_zero_run(grouped["conversions"], grouped["spend"], grouped["has_row"] > 0)
        for i, key in enumerate(keys):
            length = int(run[i])
            if length == 0:
                # Recovered only if conversions are reported again on spend: a quiet day is no news.
                last = {name: float(values[i, -1]) for name, values in grouped.items()}
                if (
                    baseline[i] >= config.zero_min_baseline_conversions
                    and last["has_row"] > 0
                    and last["spend"] > 0
                    and last["conversions"] > 0
                    and context.wants_check(AlertType.ZERO_CONVERSIONS, level, key)
                ):
                    cleared.append(_zero_check(context, level, key, last))
                continue
            expected_run = float(grouped["expected"][i, -length:].sum())
            spend_run = float(grouped["spend"][i, -length:].sum())
            if (
                expected_run < min(config.zero_inconclusive_min_expected, config.zero_min_expected)
                or spend_run < config.zero_min_spend
                or baseline[i] < config.zero_min_baseline_conversions
            ):
                continue
            alert = _zero_alert(context, level, key, length, expected_run, spend_run, float(baseline[i]))
            if expected_run < config.zero_min_expected:
                # Too few conversions expected to be sure: said, held, and re-judged every morning
                # as the quiet days (and the expected count) accumulate.
                alert = replace(
                    alert,
                    severity=Severity.LOW,
                    suppressed_reason=(
                        f"inconclusive: {expected_run:.1f} conversions expected over {length} day"
                        f"{'s' if length > 1 else ''}, zero happens by chance with probability "
                        f"{math.exp(-expected_run):.1%}; alerts once {config.zero_min_expected:g} are expected"
                    ),
                    evidence={**alert.evidence, "inconclusive": True},
                )
            alerts.append(alert)
    return alerts, cleared


def _zero_check(context: Context, level: EntityLevel, key: tuple[str, ...], last: dict[str, float]) -> Check:
    identity = context.identity(level, key)
    day = context.panel.days[-1]
    return Check(
        alert_type=AlertType.ZERO_CONVERSIONS,
        platform=identity["platform"],
        account_id=identity["account_id"],
        entity_level=level,
        entity_id=identity["entity_id"],
        window_start=day,
        window_end=day,
        evidence=jsonable(
            {
                "metric": "conversions",
                "value": last["conversions"],
                "expected": last["expected"],
                "window_start": day,
                "window_end": day,
                "window_spend": last["spend"],
                "currency": identity["currency"],
            }
        ),
    )


def _without_the_run(panel: Panel, expected: np.ndarray, scored_days: int) -> np.ndarray:
    """Expected conversions of a quiet run that reaches into the baseline, at the rate of the days
    before it: the baseline fit has the run's own zeros in it, which would make a long break look
    less and less surprising."""
    run = _trailing_zero_run(panel.conversions, panel.spend, panel.has_row)
    out = expected.copy()
    n_days = len(panel.days)
    for row in np.flatnonzero(run > scored_days):
        before = slice(0, n_days - int(run[row]))
        spend = panel.spend[row, before].sum()
        if panel.has_row[row, before].sum() < 7 or spend <= 0:
            continue
        rate = panel.conversions[row, before].sum() / spend
        tail = slice(n_days - int(run[row]), n_days)
        out[row, tail] = rate * panel.spend[row, tail] * panel.maturity[row, tail]
    return out


def _trailing_zero_run(conversions: np.ndarray, spend: np.ndarray, has_row: np.ndarray) -> np.ndarray:
    """Days at the end of the period with data, spend and no conversion, per row."""
    quiet = has_row & (spend > 0) & (conversions == 0)
    run = np.zeros(quiet.shape[0], dtype=int)
    alive = np.ones(quiet.shape[0], dtype=bool)
    for j in range(quiet.shape[1] - 1, -1, -1):
        alive &= quiet[:, j]
        run += alive
    return run


def group_arrays(
    context: Context, level: EntityLevel, arrays: dict[str, np.ndarray], per_campaign: np.ndarray
) -> tuple[list[tuple[str, ...]], dict[str, np.ndarray], np.ndarray]:
    """Sum campaign-day arrays and a per-campaign figure to the level's groups."""
    codes, keys = context.groups[level]
    use = codes >= 0
    grouped = {}
    for name, values in arrays.items():
        out = np.zeros((len(keys), values.shape[1]))
        np.add.at(out, codes[use], values[use])
        grouped[name] = out
    totals = np.bincount(codes[use], weights=per_campaign[use], minlength=len(keys))
    return keys, grouped, totals


def _zero_alert(
    context: Context,
    level: EntityLevel,
    key: tuple[str, ...],
    length: int,
    expected: float,
    spend: float,
    baseline_conversions: float,
) -> Alert:
    identity = context.identity(level, key)
    currency = identity.pop("currency")
    window = context.window_dates(length)
    rows = context.rows_for(level, key)
    model = context.conversion_model
    cols = context.panel.window(length)
    panel = context.panel
    everything = np.where(
        context.model_ok(model)[:, None], model.expected(panel.weekdays, panel.spend, panel.maturity), 0.0
    )
    expected_by_day = _without_the_run(panel, everything, context.config.scored_days)[rows][:, cols].sum(
        axis=0
    )
    evidence = {
        "metric": "conversions",
        "value": 0.0,
        "baseline": expected,
        "threshold": 0.0,
        "window_start": window[0].isoformat(),
        "window_end": window[1].isoformat(),
        "window_days": length,
        "window_spend": spend,
        "expected_conversions": expected,
        "probability_of_zero_by_chance": math.exp(-expected),
        "baseline_start": context.baseline_window[0].isoformat(),
        "baseline_end": context.baseline_window[1].isoformat(),
        "baseline_method": "same weekday" if context.config.same_weekday_baseline else "all days",
        "baseline_conversions": baseline_conversions,
        "currency": currency,
        "daily": context.daily_rows(rows, length, context.panel.conversions, "conversions", expected_by_day),
        "thresholds": context.config.thresholds(AlertType.ZERO_CONVERSIONS),
        "signal_health": context.signal_health(level, key, window),
    }
    if level != EntityLevel.CAMPAIGN:
        evidence["campaigns"] = int(rows.sum())
    name = identity["entity_name"]
    return Alert(
        alert_type=AlertType.ZERO_CONVERSIONS,
        severity=severity_for(1.0, spend, context.config),
        **identity,
        metric="conversions",
        value=0.0,
        baseline=expected,
        threshold=0.0,
        window_start=window[0],
        window_end=window[1],
        title=f"{name}: no conversions for {length} day{'s' if length > 1 else ''} while spending",
        message=(
            f"{context.describe(identity)} spent {spend:,.2f}{suffix(currency)} from {window[0]} to "
            f"{window[1]} with zero conversions; at its usual rate for those weekdays about "
            f"{expected:.1f} would have been reported by now. Check conversion tracking before "
            f"changing budgets."
        ),
        evidence=jsonable(evidence),
    )
