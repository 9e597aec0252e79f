"""Rate tests: ROAS_DROP, CPA_SPIKE, CTR_DROP, CPC_SPIKE (daily)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import special
from scipy import stats as scipy_stats

from pipeline.analytics.alerting.baseline import RateBaseline
from pipeline.analytics.alerting.context import Context, ratio, suffix
from pipeline.analytics.alerting.model import (
    SEVERITY_ORDER,
    Alert,
    AlertConfig,
    AlertType,
    Check,
    EntityLevel,
    severity_for,
)
from pipeline.analytics.alerting.value import ValueBaseline, value_per_conversion_test
from pipeline.jsonable import jsonable


@dataclass(frozen=True)
class RateSpec:
    alert_type: AlertType
    metric: str
    numerator: str  # panel attribute
    denominator: str
    model: str  # context attribute of the numerator's baseline
    count_model: str  # baseline of the counts behind the numerator (Poisson floor)
    count_numerator: str
    mature: bool
    windows: tuple[int, ...]
    min_drop: float  # on numerator per denominator
    z: float
    min_window_spend: float
    min_baseline_counts: float
    min_expected_counts: float
    inverted: bool  # the metric shown is denominator / numerator (CPA)
    money_numerator: bool  # the numerator is money (needs comparable currencies when pooled)


def rate_specs(config: AlertConfig) -> list[RateSpec]:
    return [
        RateSpec(
            AlertType.ROAS_DROP, "roas", "value", "spend", "value_model", "conversion_model", "conversions",
            True, config.roas_windows, config.roas_min_drop, config.roas_z, config.roas_min_window_spend,
            config.roas_min_baseline_conversions, config.roas_min_expected_conversions, False, True,
        ),
        RateSpec(
            AlertType.CPA_SPIKE, "cpa", "conversions", "spend", "conversion_model", "conversion_model",
            "conversions", True, config.cpa_windows, 1.0 - 1.0 / (1.0 + config.cpa_min_increase),
            config.cpa_z, config.cpa_min_window_spend, config.cpa_min_baseline_conversions,
            config.cpa_min_expected_conversions, True, False,
        ),
        RateSpec(
            AlertType.CPC_SPIKE, "cpc", "clicks", "spend", "cpc_model", "cpc_model", "clicks",
            False, config.cpc_windows, 1.0 - 1.0 / (1.0 + config.cpc_min_increase), config.cpc_z,
            config.cpc_min_window_spend, config.cpc_min_baseline_clicks, config.cpc_min_expected_clicks,
            True, False,
        ),
        RateSpec(
            AlertType.CTR_DROP, "ctr", "clicks", "impressions", "click_model", "click_model", "clicks",
            False, config.ctr_windows, config.ctr_min_drop, config.ctr_z, config.ctr_min_window_spend,
            config.ctr_min_baseline_clicks, config.ctr_min_expected_clicks, False, False,
        ),
    ]  # fmt: skip


MAD_EFFICIENCY = 0.37
_POOLED = (
    "observed", "observed_counts", "expected", "variance", "maturity_variance", "expected_counts", "baseline_counts", "spend",
    "denominator", "denominator_x_maturity", "baseline_numerator", "baseline_denominator", "campaigns",
    "effective_counts", "baseline_effective_counts",
)  # fmt: skip


def _window_stats(
    context: Context, spec: RateSpec, length: int, count_dispersion: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per campaign: observed and expected numerator over the window, their noise, volumes.

    ``count_dispersion``: per campaign, the variance of the numerator relative to a Poisson count
    of the same mean (value: a compound Poisson sum of order values, 1 + their cv^2); the
    numerator then has the noise of ``counts / dispersion`` effective events at least."""
    panel = context.panel
    cols = panel.window(length)
    numerator = getattr(panel, spec.numerator)[:, cols]
    denominator = getattr(panel, spec.denominator)[:, cols]
    counts = getattr(panel, spec.count_numerator)[:, cols]
    maturity = panel.maturity[:, cols] if spec.mature else np.ones_like(numerator)
    weekdays = panel.weekdays[cols]
    model: RateBaseline = getattr(context, spec.model)
    count_model: RateBaseline = getattr(context, spec.count_model)

    expected = model.expected(weekdays, denominator, maturity)
    noise = np.nan_to_num(model.day_noise, nan=0.0)
    dispersion = np.ones(panel.size) if count_dispersion is None else count_dispersion
    stats = {
        "ok": (
            panel.has_row[:, cols].all(axis=1)
            & (denominator.sum(axis=1) > 0)
            & context.model_ok(model)
            & context.model_ok(count_model)
        ),
        "observed": numerator.sum(axis=1),
        "observed_counts": counts.sum(axis=1),
        "expected": expected.sum(axis=1),
        # Each day's relative scatter, plus the uncertainty of its weekday baseline (entities
        # without a baseline have infinite variance there; they are not scored).
        "variance": np.fmax(
            np.nan_to_num(
                noise**2
                * (expected**2 * np.minimum(1.0 + model.weekday_variance[:, weekdays], 1e6)).sum(axis=1)
            ),
            _window_variance(model, length, expected.sum(axis=1)),
        ),
        # The share of recent days already reported is itself uncertain (it varies by day and
        # platform around the configured curve): a relative sd of `maturity_uncertainty` x the
        # share still to come, on top of the count and day-to-day noise.
        "maturity_variance": ((expected * context.config.maturity_uncertainty * (1.0 - maturity)) ** 2).sum(
            axis=1
        ),
        "expected_counts": count_model.expected(weekdays, denominator, maturity).sum(axis=1),
        "baseline_counts": count_model.counts,
        "effective_counts": count_model.expected(weekdays, denominator, maturity).sum(axis=1) / dispersion,
        "baseline_effective_counts": count_model.counts / dispersion,
        "spend": panel.spend[:, cols].sum(axis=1),
        "denominator": denominator.sum(axis=1),
        "denominator_x_maturity": (denominator * maturity).sum(axis=1),
        "baseline_numerator": model.numerator,
        "baseline_denominator": model.denominator,
        "baseline_days_used": model.days_used.astype(float),
        "campaigns": np.ones(panel.size),
    }
    return stats, expected


def _window_variance(model: RateBaseline, length: int, expected: np.ndarray) -> np.ndarray:
    """Variance of the window's numerator as measured on the baseline's windows of this length
    (0 where unknown): independent days would understate drifting, overdispersed rates."""
    if model.window_noise is None or length > model.window_noise.shape[1]:
        return np.zeros_like(expected)
    return np.nan_to_num(model.window_noise[:, length - 1] ** 2 * expected**2)


def _pool(
    context: Context, stats: dict[str, np.ndarray], level: EntityLevel, spec: RateSpec
) -> dict[str, np.ndarray]:
    """Sum campaign expectations to the level: mix changes (a paused campaign) are not drops."""
    codes, keys = context.groups[level]
    use = stats["ok"] & (codes >= 0)
    fx = context.fx if level == EntityLevel.PLATFORM else np.ones(context.panel.size)
    money = {"spend", "denominator_x_maturity"}
    if spec.money_numerator:
        money |= {"observed", "expected", "baseline_numerator"}
    if spec.denominator == "spend":
        money |= {"denominator", "baseline_denominator"}
    pooled = {}
    for name in _POOLED:
        values = stats[name] * (fx if name in money else 1.0)
        if name in ("variance", "maturity_variance") and spec.money_numerator:
            values = stats[name] * fx**2
        pooled[name] = np.bincount(codes[use], weights=values[use], minlength=len(keys))
    days_used = np.zeros(len(keys))
    np.maximum.at(days_used, codes[use], stats["baseline_days_used"][use])
    pooled["baseline_days_used"] = days_used
    return pooled


def _evaluate(
    pooled: dict[str, np.ndarray], spec: RateSpec, thresholds_for: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Is each entity's shortfall significant? One-sided test on the counts behind the metric.

    The window's count (conversions, clicks) is modelled as gamma-Poisson (negative binomial)
    with the expected count as mean and the same relative variance as before: the entity's own
    robust scatter and the baseline's uncertainty, never less than Poisson. Its exact lower tail
    replaces the normal approximation, which is far too strict for small counts (at 15 expected
    conversions, 3 normal sd require 3 or fewer where the exact 0.13 % tail allows 4). The
    metric's shortfall is read as the same shortfall of the count (value per conversion held).

    ``thresholds_for``: the entities whose alert threshold (``required``, for evidence) is needed
    besides those that fire; ``None``: every one. Finding it is most of the cost (a replay needs it
    for few entities); it is NaN where not computed.
    """
    expected = pooled["expected"]
    # The test runs on effective counts: events whose Poisson noise is the numerator's least noise
    # (conversions; for value, fewer: order values scatter too). Volume floors use the real counts.
    counts = pooled["effective_counts"]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative_variance = pooled["variance"] / expected**2
        poisson = 1.0 / counts + 1.0 / pooled["baseline_effective_counts"]
        # The day-to-day scatter is estimated from a few weeks (a median absolute deviation is
        # worth about 37 % of as many normal observations): its tail is Student's t, not normal.
        df = np.maximum(MAD_EFFICIENCY * pooled["baseline_days_used"], 3.0)
        alpha = float(scipy_stats.norm.sf(spec.z))
        inflation = (scipy_stats.t.isf(alpha, df) / spec.z) ** 2
        sigma = np.sqrt(
            np.maximum(relative_variance * inflation, poisson) + pooled["maturity_variance"] / expected**2
        )
        drop = 1.0 - pooled["observed"] / expected
    eligible = (
        (expected > 0)
        & (pooled["spend"] >= spec.min_window_spend)
        & (pooled["baseline_counts"] >= spec.min_baseline_counts)
        & (pooled["expected_counts"] >= spec.min_expected_counts)
        & (counts > 0)
    )
    if spec.inverted:
        eligible &= pooled["observed"] > 0  # no conversions at all: ZERO_CONVERSIONS' case
    safe_counts = np.where(eligible, counts, 1.0)
    extra = np.where(eligible, np.maximum(sigma**2 - 1.0 / safe_counts, 0.0), 0.0)
    tail = lower_tail(safe_counts * np.clip(1.0 - drop, 0.0, None), safe_counts, extra)
    fires = eligible & (drop >= spec.min_drop) & (tail <= alpha)
    # The shortfall at which the tail reaches alpha: the threshold shown in evidence.
    wanted = np.ones_like(eligible) if thresholds_for is None else fires | thresholds_for
    counts_w, extra_w = safe_counts[wanted], extra[wanted]
    low, high = np.zeros_like(counts_w), counts_w.copy()
    for _ in range(40 if counts_w.size else 0):
        middle = (low + high) / 2
        below = lower_tail(middle, counts_w, extra_w) <= alpha
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    required = np.full_like(safe_counts, np.nan)
    required[wanted] = np.where(
        lower_tail(np.zeros_like(counts_w), counts_w, extra_w) > alpha,
        1.0,
        np.maximum(spec.min_drop, 1.0 - low / counts_w),
    )
    score = np.where(eligible, scipy_stats.norm.isf(np.clip(tail, 1e-300, 1.0)), -np.inf)
    return {
        **pooled,
        "sigma": sigma,
        "drop": drop,
        "required": required,
        "tail_probability": np.where(eligible, tail, 1.0),
        "score": score,
        "eligible": eligible,
        "fires": fires,
    }


def lower_tail(observed: np.ndarray, mean: np.ndarray, extra_variance: np.ndarray) -> np.ndarray:
    """P(count <= observed) for a count with this mean and relative variance 1/mean + extra:
    Poisson when extra is 0, else negative binomial with shape 1/extra (continuous in observed)."""
    poisson = special.gammaincc(observed + 1.0, mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = 1.0 / extra_variance
        negative_binomial = special.betainc(shape, observed + 1.0, shape / (shape + mean))
    return np.where(extra_variance > 1e-12, negative_binomial, poisson)


def _with_value_per_conversion(
    context: Context,
    baseline: ValueBaseline,
    stats: dict[str, np.ndarray],
    level: EntityLevel,
    spec: RateSpec,
    evaluated: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """ROAS also fires when the value per conversion fell significantly (see ``value``), the
    ROAS being down by the minimum too; the more significant of the two paths scores it."""
    test = value_per_conversion_test(context, baseline, stats, level, spec.z)
    money = (
        (evaluated["spend"] >= spec.min_window_spend)
        & (evaluated["baseline_counts"] >= spec.min_baseline_counts)
        # The mean of a handful of skewed order values is no evidence: enough conversions observed.
        & (test["observed_conversions"] >= context.config.roas_value_min_conversions)
    )
    by_value = (
        money
        & (evaluated["expected"] > 0)
        & (evaluated["drop"] >= spec.min_drop)
        & (test["value_per_conversion_shortfall"] >= spec.min_drop)
        & (test["value_per_conversion_z"] >= spec.z)
    )
    return {
        **evaluated,
        **test,
        "fires_by_value": by_value.astype(float),
        "fires": evaluated["fires"] | by_value,
        "score": np.where(
            by_value, np.maximum(evaluated["score"], test["value_per_conversion_z"]), evaluated["score"]
        ),
    }


def _for_window(context: Context, spec: RateSpec, length: int) -> RateSpec:
    """The z one window is tested at. An entity is tested on several windows each morning and
    the most significant one speaks: with ``window_multiplicity`` each window gets the share
    1 / windows of the type's tail (Bonferroni), so the entity's chance of a false alert per
    morning stays the type's. Conversion tests on yesterday alone need `one_day_extra_z` more:
    one day is mostly restatement and day-to-day noise, and yesterday is tested every morning."""
    z = spec.z
    if context.config.window_multiplicity and len(spec.windows) > 1 and z > 0:  # z <= 0: no test
        z = float(scipy_stats.norm.isf(scipy_stats.norm.sf(z) / len(spec.windows)))
    if length == 1 and spec.mature and context.config.one_day_extra_z:
        z += context.config.one_day_extra_z
    return replace(spec, z=z) if z != spec.z else spec


def rate_alerts(context: Context, spec: RateSpec) -> tuple[list[Alert], list[Check]]:
    value_baseline = ValueBaseline(context) if spec.alert_type == AlertType.ROAS_DROP else None
    # Value is a sum of order values: its Poisson floor is a compound Poisson one, 1 + cv^2 wider.
    dispersion = None if value_baseline is None else 1.0 + np.nan_to_num(value_baseline.cv2, nan=0.0)
    per_window = {length: _window_stats(context, spec, length, dispersion) for length in sorted(spec.windows)}
    alerts: list[Alert] = []
    cleared: list[Check] = []
    for level in context.config.levels:
        _, keys = context.groups[level]
        best: dict[int, tuple[int, dict[str, float]]] = {}
        # The shortest window each entity was scored in (the latest view of its metric).
        scored: dict[int, tuple[int, dict[str, float]]] = {}
        wanted = context.wanted_checks(spec.alert_type, level)
        for length, (stats, _) in per_window.items():
            window_spec = _for_window(context, spec, length)
            evaluated = _evaluate(_pool(context, stats, level, window_spec), window_spec, wanted)
            if value_baseline is not None:
                evaluated = _with_value_per_conversion(
                    context, value_baseline, stats, level, window_spec, evaluated
                )
            for g in np.flatnonzero(evaluated["eligible"]):
                if int(g) not in scored:
                    scored[int(g)] = (length, {name: float(values[g]) for name, values in evaluated.items()})
            for g in np.flatnonzero(evaluated["fires"]):
                row = {name: float(values[g]) for name, values in evaluated.items()}
                # The most significant window speaks for the entity (ties: the shorter one).
                if g not in best or row["score"] > best[g][1]["score"]:
                    best[int(g)] = (length, row)
        for g in sorted(best):
            length, row = best[g]
            stats, expected = per_window[length]
            alerts.append(_rate_alert(context, spec, level, keys[g], length, row, stats, expected))
        for g in sorted(set(scored) - set(best)):
            if not context.wants_check(spec.alert_type, level, keys[g]):
                continue
            length, row = scored[g]
            cleared.append(_rate_check(context, spec, level, keys[g], length, row))
    return alerts, cleared


def _rate_figures(spec: RateSpec, row: dict[str, float]) -> tuple[float, float, float]:
    """The metric as shown (value, baseline, alert threshold) from a window's pooled figures."""
    observed, expected, weighted = row["observed"], row["expected"], row["denominator_x_maturity"]
    required = min(row["required"], 1.0)
    if spec.inverted:
        baseline = weighted / expected
        # No CPA is high enough when even zero conversions would not be significant.
        return weighted / observed, baseline, (baseline / (1.0 - required) if required < 1 else math.inf)
    baseline = expected / weighted
    return observed / weighted, baseline, baseline * (1.0 - required)


def _rate_check(
    context: Context,
    spec: RateSpec,
    level: EntityLevel,
    key: tuple[str, ...],
    length: int,
    row: dict[str, float],
) -> Check:
    identity = context.identity(level, key)
    window = context.window_dates(length)
    value, baseline, threshold = _rate_figures(spec, row)
    return Check(
        alert_type=spec.alert_type,
        platform=identity["platform"],
        account_id=identity["account_id"],
        entity_level=level,
        entity_id=identity["entity_id"],
        window_start=window[0],
        window_end=window[1],
        evidence=jsonable(
            {
                "metric": spec.metric,
                "value": value,
                "baseline": baseline,
                "threshold": threshold,
                "window_start": window[0],
                "window_end": window[1],
                "window_days": length,
                "relative_shortfall": row["drop"],
                "required_shortfall": row["required"],
                "window_spend": row["spend"],
                "currency": identity["currency"],
            }
        ),
    )


def _rate_alert(
    context: Context,
    spec: RateSpec,
    level: EntityLevel,
    key: tuple[str, ...],
    length: int,
    row: dict[str, float],
    stats: dict[str, np.ndarray],
    expected: np.ndarray,
) -> Alert:
    identity = context.identity(level, key)
    window = context.window_dates(length)
    observed, expected_total = float(row["observed"]), float(row["expected"])
    drop, required = float(row["drop"]), float(row["required"])
    value, baseline, threshold = _rate_figures(spec, row)
    change_text = f"up {value / baseline - 1:.0%}" if spec.inverted else f"down {drop:.0%}"
    spend = float(row["spend"])
    currency = identity.pop("currency")
    rows = context.rows_for(level, key) & stats["ok"]
    expected_by_day = expected[rows].sum(axis=0)
    baseline_all_days = ratio(float(row["baseline_numerator"]), float(row["baseline_denominator"]))
    evidence: dict[str, Any] = {
        "metric": spec.metric,
        "value": value,
        "baseline": baseline,
        "threshold": threshold,
        "window_start": window[0].isoformat(),
        "window_end": window[1].isoformat(),
        "window_days": length,
        "baseline_start": context.baseline_window[0].isoformat(),
        "baseline_end": context.baseline_window[1].isoformat(),
        "baseline_method": "same weekday" if context.config.same_weekday_baseline else "all days",
        "baseline_days_used": int(row["baseline_days_used"]),
        f"baseline_{spec.metric}_all_days": (1 / baseline_all_days if spec.inverted and baseline_all_days else baseline_all_days),
        f"observed_{spec.numerator}": observed,
        f"expected_{spec.numerator}": expected_total,
        "relative_shortfall": drop,
        "required_shortfall": required,
        "noise_relative_sd": float(row["sigma"]),
        "z_score": float(row["score"]),
        "tail_probability": float(row["tail_probability"]),
        "window_spend": spend,
        f"window_{spec.denominator}": float(row["denominator"]),
        "expected_counts": float(row["expected_counts"]),
        "baseline_counts": float(row["baseline_counts"]),
        "currency": currency,
        "daily": context.daily_rows(rows, length, getattr(context.panel, spec.numerator), spec.numerator, expected_by_day),
        "thresholds": context.config.thresholds(spec.alert_type),
        "signal_health": context.signal_health(level, key, window),
    }  # fmt: skip
    if spec.mature:
        evidence[f"{spec.metric}_as_reported"] = (
            ratio(float(row["denominator"]), observed)
            if spec.inverted
            else ratio(observed, float(row["denominator"]))
        )
    if level == EntityLevel.CAMPAIGN:
        model: RateBaseline = getattr(context, spec.model)
        position = int(np.flatnonzero(rows)[0])
        outliers = model.outliers[position]
        evidence["baseline_outlier_days"] = [
            context.panel.days[i].isoformat() for i in np.flatnonzero(outliers)
        ]
    else:
        evidence["campaigns_pooled"] = int(row["campaigns"])
        evidence["largest_shortfalls"] = _largest_shortfalls(context, stats, expected, rows, spec)
    if spec.alert_type == AlertType.ROAS_DROP:
        evidence["estimated_value_shortfall"] = expected_total - observed
        if math.isfinite(row.get("value_per_conversion", math.nan)):
            evidence["value_per_conversion"] = row["value_per_conversion"]
            evidence["usual_value_per_conversion"] = row["usual_value_per_conversion"]
            evidence["value_per_conversion_z"] = row["value_per_conversion_z"]
        if row.get("fires_by_value"):
            evidence["driver"] = "value_per_conversion"
    name = identity["entity_name"]
    what = {"roas": "ROAS", "cpa": "CPA", "ctr": "CTR", "cpc": "CPC"}[spec.metric]
    fmt = (lambda v: f"{v:.2%}") if spec.metric == "ctr" else (lambda v: f"{v:,.2f}")
    return Alert(
        alert_type=spec.alert_type,
        severity=severity_for(drop, spend, context.config),
        **identity,
        metric=spec.metric,
        value=value,
        baseline=baseline,
        threshold=threshold,
        window_start=window[0],
        window_end=window[1],
        title=f"{name}: {what} {change_text} vs its usual level",
        message=(
            f"{context.describe(identity)} had {what} {fmt(value)} from {window[0]} to {window[1]}"
            f"{' (adjusted for conversions still to be reported)' if spec.mature else ''} against "
            f"{fmt(baseline)} expected from the same weekdays of {context.baseline_window[0]} to "
            f"{context.baseline_window[1]}: {change_text} on {spend:,.2f}{suffix(currency)} spend "
            f"(alert at {fmt(threshold)})."
        ),
        evidence=jsonable(evidence),
    )


def _largest_shortfalls(
    context: Context, stats: dict[str, np.ndarray], expected: np.ndarray, rows: np.ndarray, spec: RateSpec
) -> list[dict[str, Any]]:
    observed = stats["observed"]
    shortfall = expected.sum(axis=1) - observed
    positions = [p for p in np.argsort(-shortfall, kind="stable") if rows[p] and shortfall[p] > 0][:5]
    return [
        {
            "campaign_id": str(context.entities["campaign_id"].iloc[p]),
            "campaign_name": str(context.entities["campaign_name"].iloc[p]),
            f"observed_{spec.numerator}": float(observed[p]),
            f"expected_{spec.numerator}": float(expected[p].sum()),
        }
        for p in positions
    ]


def attribute_cpc(context: Context, alerts: list[Alert]) -> list[Alert]:
    """One cause, the alert a person acts on: where clicks got dearer (CPC_SPIKE) and the CPA rose
    with them (by at least half as much: conversions per click held), the entity's alert is
    CPA_SPIKE with the CPC figures as its driver, even when the conversion counts alone were too
    few for the CPA test to be sure. The CPC_SPIKE itself is folded into it."""
    cpa_spec = next(s for s in rate_specs(context.config) if s.alert_type == AlertType.CPA_SPIKE)
    cpa_by_scope = {_entity(a): a for a in alerts if a.alert_type == AlertType.CPA_SPIKE}
    replaced: dict[tuple[str, str, str, str], Alert] = {}
    folded: set[int] = set()
    for cpc in (a for a in alerts if a.alert_type == AlertType.CPC_SPIKE):
        cpa_scope = _entity(cpc)
        cpa = cpa_by_scope.get(cpa_scope) or _cpa_alert(
            context, cpa_spec, cpc.entity_level, _key(cpc), int(cpc.evidence["window_days"])
        )
        if cpa is None or not (cpc.baseline and cpa.baseline and cpa.value):
            continue
        cpc_increase, cpa_increase = cpc.value / cpc.baseline - 1.0, cpa.value / cpa.baseline - 1.0
        if cpa_increase < 0.5 * cpc_increase:
            continue  # conversions per click rose too: the CPC spike is the news
        driver = {
            "metric": "cpc",
            "value": cpc.value,
            "baseline": cpc.baseline,
            "increase": cpc_increase,
            "window_start": cpc.window_start.isoformat(),
            "window_end": cpc.window_end.isoformat(),
            "z_score": cpc.evidence.get("z_score"),
        }
        replaced[cpa_scope] = replace(
            cpa,
            severity=max(cpa.severity, cpc.severity, key=SEVERITY_ORDER.index),
            title=f"{cpa.title} (CPC up {cpc_increase:.0%})",
            message=f"{cpa.message} Clicks cost {cpc_increase:.0%} more than usual: the likely cause.",
            evidence={**cpa.evidence, "driver": "cpc", "cpc": driver},
        )
        folded.add(id(cpc))
    out = [replaced.pop(_entity(a), a) if a.alert_type == AlertType.CPA_SPIKE else a for a in alerts]
    return [a for a in out if id(a) not in folded] + list(replaced.values())


def _entity(alert: Alert) -> tuple[str, str, str, str]:
    """(platform, level, account or '', id): ids are unique only within an account."""
    return (alert.platform, alert.entity_level.value, alert.account_id or "", alert.entity_id)


def _key(alert: Alert) -> tuple[str, ...]:
    if alert.entity_level == EntityLevel.CAMPAIGN:
        return (alert.platform, str(alert.account_id), alert.entity_id)
    if alert.entity_level == EntityLevel.ACCOUNT:
        return (alert.platform, alert.entity_id)
    return (alert.platform,)


def _cpa_alert(
    context: Context, spec: RateSpec, level: EntityLevel, key: tuple[str, ...], length: int
) -> Alert | None:
    """The CPA figures of an entity over a window as an alert (whether or not its test fired)."""
    _, keys = context.groups[level]
    if key not in keys or length not in spec.windows:
        return None
    g = keys.index(key)
    stats, expected = _window_stats(context, spec, length)
    wanted = np.zeros(len(keys), dtype=bool)
    wanted[g] = True
    spec = _for_window(context, spec, length)
    evaluated = _evaluate(_pool(context, stats, level, spec), spec, wanted)
    if not evaluated["eligible"][g]:
        return None
    row = {name: float(values[g]) for name, values in evaluated.items()}
    return _rate_alert(context, spec, level, key, length, row, stats, expected)
