"""Daily business alerts: ROAS_DROP, CPA_SPIKE, ZERO_CONVERSIONS, CTR_DROP, CPC_SPIKE, SPEND_PACING.

See :func:`detect_alerts` for the contract and the package docstring for the method.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as scipy_stats

from pipeline.analytics.alerting.baseline import RateBaseline, fit_rate
from pipeline.analytics.alerting.frames import (
    Budget,
    HealthIndex,
    Panel,
    build_panel,
    prepare_budgets,
    prepare_health,
)
from pipeline.analytics.alerting.health import data_alerts, data_checks, gate_reason, summarize
from pipeline.analytics.alerting.model import (
    DAILY_ALERT_TYPES,
    DATA_ALERT_TYPES,
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

GROUP_COLUMNS = {
    EntityLevel.CAMPAIGN: ["platform", "account_id", "campaign_id"],
    EntityLevel.ACCOUNT: ["platform", "account_id"],
    EntityLevel.PLATFORM: ["platform"],
}
# One cause, several symptoms: on one entity only the most specific conversion alert is kept.
CONVERSION_FAMILY = (AlertType.ZERO_CONVERSIONS, AlertType.ROAS_DROP, AlertType.CPA_SPIKE)


def detect_alerts(
    campaign_daily: pd.DataFrame,
    as_of: date,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
    *,
    budgets: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
) -> list[Alert]:
    """Score campaigns, accounts and platforms as of ``as_of``; return alerts with evidence.

    ``campaign_daily``: one row per campaign and day (``marts.fct_campaign_performance_daily``)
    with date_day, platform, account_id, campaign_id, campaign_name, spend, impressions, clicks,
    conversions, conversion_value; optional currency, account_name, and fx_rate (account currency
    → reporting currency, needed for platform-level money metrics across currencies). Pass at least
    ``baseline_days + scored_days`` (32) days before ``as_of``; 35 is comfortable.

    ``as_of`` is the first incomplete day: days before it are complete, later rows are ignored.

    ``budgets`` (optional, ``marts.dim_campaigns``): platform, account_id, campaign_id,
    daily_budget, lifetime_budget, budget_start / budget_end (or start_date / end_date), status.
    Without it SPEND_PACING cannot fire.

    ``health`` (optional, ``marts.fct_signal_health_daily``): date_day, platform, account_id,
    status ('healthy' | 'degraded' | 'unhealthy'), health_score, freshness_score,
    completeness_score, accuracy_score, issues (list of {"check", "detail"}). Business alerts whose
    window touches a degraded or unhealthy day of their account are returned held
    (``suppressed_reason``), and DATA_STALE / DATA_INCOMPLETE / DATA_INCONSISTENT alerts are
    raised for those accounts.

    Every scored window must have a row for each of its days (a missing day is a data problem,
    not a business alert). Alerts come sorted: active first, then severity (highest first), type,
    platform, account, level, entity; the same input always yields the same list. Use
    :func:`active_alerts` to keep the ones meant for people.
    """
    return evaluate_alerts(campaign_daily, as_of, config, budgets=budgets, health=health).alerts


def evaluate_alerts(
    campaign_daily: pd.DataFrame,
    as_of: date,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
    *,
    budgets: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
) -> Detection:
    """:func:`detect_alerts` plus what the alert lifecycle needs: the checks that passed.

    Same inputs. ``Detection.alerts`` is exactly what :func:`detect_alerts` returns;
    ``Detection.cleared`` lists every (type, entity) the detector scored on complete, healthy data
    without firing (the evidence that a live alert of that scope recovered); ``alert_types`` the
    types this run evaluated (DATA_* only when ``health`` is given).
    """
    return evaluate_panel(
        build_panel(campaign_daily, as_of, config), config, prepare_health(health), prepare_budgets(budgets)
    )


def evaluate_panel(
    panel: Panel,
    config: AlertConfig,
    health_index: HealthIndex | None,
    budget_index: dict[tuple[str, str, str], Budget],
    check_filter: Callable[[tuple[str, str, str, str, str]], bool] | None = None,
) -> Detection:
    """:func:`evaluate_alerts` on inputs already prepared (``frames.build_panel``,
    ``prepare_health``, ``prepare_budgets``): the replay prepares them once for many mornings.

    ``check_filter``: which passed checks to build, by scope (alert type, platform, entity level,
    entity id, account or ''); a replay builds only those that can resolve a live alert. Default: all."""
    as_of = panel.as_of
    enabled = set(config.alert_types)

    fired: list[Alert] = []
    cleared: list[Check] = []
    if panel.size:
        context = _Context(panel, config, health_index, budget_index, check_filter)
        if AlertType.ZERO_CONVERSIONS in enabled:
            alerts, passed = _zero_conversion_alerts(context)
            fired += alerts
            cleared += passed
        for spec in _rate_specs(config):
            if spec.alert_type in enabled:
                alerts, passed = _rate_alerts(context, spec)
                fired += alerts
                cleared += passed
        if AlertType.SPEND_PACING in enabled and EntityLevel.CAMPAIGN in config.levels:
            alerts, passed = _pacing_alerts(context)
            fired += alerts
            cleared += passed
        # A scope whose data is not healthy over the scored days was not really scored.
        scored_period = context.window_dates(config.scored_days)
        cleared = [c for c in cleared if not _gate_check(c, context, scored_period)]
        fired = _keep_most_specific(fired)
        fired = roll_up(fired, config)
        fired = _gate(fired, context)

    spend, currency, names = _account_facts(panel)
    alerts = fired + data_alerts(health_index, as_of, config, spend, currency, names)
    cleared += data_checks(health_index, as_of, config)
    types = tuple(t for t in DAILY_ALERT_TYPES if t in enabled)
    if health_index is not None:
        types += tuple(sorted(DATA_ALERT_TYPES))
    return Detection(
        alerts=sorted(alerts, key=sort_key),
        cleared=sorted(
            cleared,
            key=lambda c: (
                c.alert_type.value,
                c.platform,
                c.entity_level.value,
                c.account_id or "",
                c.entity_id,
            ),
        ),
        alert_types=types,
    )


def active_alerts(alerts: list[Alert]) -> list[Alert]:
    """The alerts meant for people: not held by signal health or roll-ups."""
    return [a for a in alerts if a.suppressed_reason is None]


# --- shared context ------------------------------------------------------------------------------


class _Context:
    """The panel plus what every detector needs: baselines per rate metric, groups per level."""

    def __init__(
        self,
        panel: Panel,
        config: AlertConfig,
        health: HealthIndex | None,
        budgets: dict[tuple[str, str, str], Budget],
        check_filter: Callable[[tuple[str, str, str, str, str]], bool] | None = None,
    ) -> None:
        self.panel = panel
        self.check_filter = check_filter
        self.config = config
        self.health = health
        self.budgets = budgets
        base = panel.baseline
        ones = np.ones_like(panel.maturity[:, base])

        def fit(
            numerator: np.ndarray, denominator: np.ndarray, counts: np.ndarray, mature: bool
        ) -> RateBaseline:
            return fit_rate(
                numerator[:, base],
                denominator[:, base],
                counts[:, base],
                panel.has_row[:, base],
                panel.weekdays[base],
                panel.maturity[:, base] if mature else ones,
                same_weekday=config.same_weekday_baseline,
                outlier_z=config.outlier_z,
                max_outlier_share=config.max_outlier_share,
            )

        self.value_model = fit(panel.value, panel.spend, panel.conversions, mature=True)
        self.conversion_model = fit(panel.conversions, panel.spend, panel.conversions, mature=True)
        self.click_model = fit(panel.clicks, panel.impressions, panel.clicks, mature=False)
        self.cpc_model = fit(panel.clicks, panel.spend, panel.clicks, mature=False)
        self.entities = panel.entities
        self._identities: dict[tuple[EntityLevel, tuple[str, ...]], dict[str, Any]] = {}
        self._names, self._account_names, self._currencies = (
            self.entities[c].to_numpy(dtype=object) for c in ("campaign_name", "account_name", "currency")
        )
        self.baseline_window = (panel.days[0], panel.days[panel.baseline_days - 1])
        # Groups per level: a code per campaign (-1: not pooled) and the keys, sorted.
        self.groups: dict[EntityLevel, tuple[np.ndarray, list[tuple[str, ...]]]] = {}
        for level, columns in GROUP_COLUMNS.items():
            labels = list(zip(*(self.entities[c].astype(str) for c in columns), strict=True))
            keys = sorted(set(labels))
            position = {k: i for i, k in enumerate(keys)}
            self.groups[level] = (np.array([position[k] for k in labels], dtype=int), keys)
        # Platform level needs comparable money: one currency, or fx rates for every campaign.
        self.fx = np.ones(panel.size)
        codes, keys = self.groups[EntityLevel.PLATFORM]
        excluded = []
        for g in range(len(keys)):
            rows = codes == g
            rates = self.entities["fx_rate"].to_numpy(dtype=float)[rows]
            currencies = {c for c in self.entities["currency"][rows] if c}
            if np.isfinite(rates).all() and (rates > 0).all():
                self.fx[rows] = rates
            elif len(currencies) > 1:
                excluded.append(g)
        if excluded:
            kept = [k for g, k in enumerate(keys) if g not in excluded]
            remap = {keys.index(k): i for i, k in enumerate(kept)}
            self.groups[EntityLevel.PLATFORM] = (np.array([remap.get(c, -1) for c in codes], dtype=int), kept)

    def wants_check(self, alert_type: AlertType, level: EntityLevel, key: tuple[str, ...]) -> bool:
        """Whether to build the check of a scope that passed (see ``evaluate_panel``)."""
        wanted = self.check_filter
        account = key[1] if len(key) > 1 else ""  # the scope is replay.scope_key's
        return wanted is None or wanted((alert_type.value, key[0], level.value, key[-1], account))

    def wanted_checks(self, spec: _RateSpec, level: EntityLevel) -> np.ndarray | None:
        """Per group of the level, whether its check is wanted (``None``: all are)."""
        if self.check_filter is None:
            return None
        _, keys = self.groups[level]
        return np.array([self.wants_check(spec.alert_type, level, key) for key in keys], dtype=bool)

    def window_dates(self, length: int) -> tuple[date, date]:
        return (self.panel.as_of - timedelta(days=length), self.panel.as_of - timedelta(days=1))

    def model_ok(self, model: RateBaseline) -> np.ndarray:
        return (model.days_used >= self.config.min_baseline_days) & (model.rate > 0)

    def rows_for(self, level: EntityLevel, key: tuple[str, ...]) -> np.ndarray:
        codes, keys = self.groups[level]
        return codes == keys.index(key) if key in keys else np.zeros(self.panel.size, dtype=bool)

    def scopes(self, level: EntityLevel, key: tuple[str, ...]) -> list[tuple[str, str]]:
        if level == EntityLevel.PLATFORM:
            rows = self.entities[self.entities["platform"] == key[0]]
            return sorted({(key[0], a) for a in rows["account_id"]})
        return [(key[0], key[1])]

    def identity(self, level: EntityLevel, key: tuple[str, ...]) -> dict[str, Any]:
        """Alert fields naming the entity, and its currency (a copy: callers pop from it)."""
        # Every scored entity asks several times (one per test): filtering the frame each time was
        # most of a morning's cost.
        cached = self._identities.get((level, key))
        if cached is None:
            cached = self._identities[(level, key)] = self._identity(level, key)
        return dict(cached)

    def _identity(self, level: EntityLevel, key: tuple[str, ...]) -> dict[str, Any]:
        rows = self.rows_for(level, key)
        if level == EntityLevel.CAMPAIGN:
            name, entity_id, account_id, campaign_id = (
                str(self._names[rows][0]),
                key[2],
                key[1],
                key[2],
            )
        elif level == EntityLevel.ACCOUNT:
            named = [n for n in self._account_names[rows] if isinstance(n, str) and n]
            name, entity_id, account_id, campaign_id = (named[-1] if named else key[1]), key[1], key[1], None
        else:
            name, entity_id, account_id, campaign_id = key[0], key[0], None, None
        currencies = sorted({c for c in self._currencies[rows] if c})
        if level == EntityLevel.PLATFORM and len(currencies) > 1:
            currency = "reporting currency"
        else:
            currency = currencies[0] if len(currencies) == 1 else None
        return {
            "platform": key[0],
            "account_id": account_id,
            "entity_level": level,
            "entity_id": entity_id,
            "entity_name": name,
            "campaign_id": campaign_id,
            "currency": currency,
        }

    def describe(self, identity: dict[str, Any]) -> str:
        level = identity["entity_level"]
        if level == EntityLevel.CAMPAIGN:
            return f"Campaign '{identity['entity_name']}' ({identity['platform']} account {identity['account_id']})"
        if level == EntityLevel.ACCOUNT:
            return f"{identity['platform']} account '{identity['entity_name']}'"
        return f"All of {identity['platform']}"

    def signal_health(
        self, level: EntityLevel, key: tuple[str, ...], window: tuple[date, date]
    ) -> dict[str, Any]:
        return summarize(self.health, self.scopes(level, key), window, self.baseline_window)

    def daily_rows(
        self, rows: np.ndarray, length: int, numerator: np.ndarray, name: str, expected: np.ndarray | None
    ) -> list[dict[str, Any]]:
        """Day-by-day evidence of the window, summed over ``rows``."""
        cols = self.panel.window(length)
        days = self.panel.days[cols]
        out = []
        for j, day in enumerate(days):
            column = cols.start + j
            entry: dict[str, Any] = {
                "date": day.isoformat(),
                "spend": _round(self.panel.spend[rows, column].sum()),
                name: _round(numerator[rows, column].sum()),
            }
            if expected is not None:
                entry[f"expected_{name}"] = _round(expected[j])
            if rows.sum() == 1:
                entry["expected_maturity"] = float(self.panel.maturity[rows, column][0])
            out.append(entry)
        return out


# --- rate tests: ROAS_DROP, CPA_SPIKE, CTR_DROP --------------------------------------------------


@dataclass(frozen=True)
class _RateSpec:
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


def _rate_specs(config: AlertConfig) -> list[_RateSpec]:
    return [
        _RateSpec(
            AlertType.ROAS_DROP, "roas", "value", "spend", "value_model", "conversion_model", "conversions",
            True, config.roas_windows, config.roas_min_drop, config.roas_z, config.roas_min_window_spend,
            config.roas_min_baseline_conversions, config.roas_min_expected_conversions, False, True,
        ),
        _RateSpec(
            AlertType.CPA_SPIKE, "cpa", "conversions", "spend", "conversion_model", "conversion_model",
            "conversions", True, config.cpa_windows, 1.0 - 1.0 / (1.0 + config.cpa_min_increase),
            config.cpa_z, config.cpa_min_window_spend, config.cpa_min_baseline_conversions,
            config.cpa_min_expected_conversions, True, False,
        ),
        _RateSpec(
            AlertType.CPC_SPIKE, "cpc", "clicks", "spend", "cpc_model", "cpc_model", "clicks",
            False, config.cpc_windows, 1.0 - 1.0 / (1.0 + config.cpc_min_increase), config.cpc_z,
            config.cpc_min_window_spend, config.cpc_min_baseline_clicks, config.cpc_min_expected_clicks,
            True, False,
        ),
        _RateSpec(
            AlertType.CTR_DROP, "ctr", "clicks", "impressions", "click_model", "click_model", "clicks",
            False, config.ctr_windows, config.ctr_min_drop, config.ctr_z, config.ctr_min_window_spend,
            config.ctr_min_baseline_clicks, config.ctr_min_expected_clicks, False, False,
        ),
    ]  # fmt: skip


_POOLED = (
    "observed", "observed_counts", "expected", "variance", "expected_counts", "baseline_counts", "spend",
    "denominator", "denominator_x_maturity", "baseline_numerator", "baseline_denominator", "campaigns",
)  # fmt: skip


def _window_stats(
    context: _Context, spec: _RateSpec, length: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per campaign: observed and expected numerator over the window, their noise, volumes."""
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
        "variance": np.nan_to_num(
            noise**2 * (expected**2 * np.minimum(1.0 + model.weekday_variance[:, weekdays], 1e6)).sum(axis=1)
        ),
        "expected_counts": count_model.expected(weekdays, denominator, maturity).sum(axis=1),
        "baseline_counts": count_model.counts,
        "spend": panel.spend[:, cols].sum(axis=1),
        "denominator": denominator.sum(axis=1),
        "denominator_x_maturity": (denominator * maturity).sum(axis=1),
        "baseline_numerator": model.numerator,
        "baseline_denominator": model.denominator,
        "baseline_days_used": model.days_used.astype(float),
        "campaigns": np.ones(panel.size),
    }
    return stats, expected


def _pool(
    context: _Context, stats: dict[str, np.ndarray], level: EntityLevel, spec: _RateSpec
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
        if name == "variance" and spec.money_numerator:
            values = stats[name] * fx**2
        pooled[name] = np.bincount(codes[use], weights=values[use], minlength=len(keys))
    days_used = np.zeros(len(keys))
    np.maximum.at(days_used, codes[use], stats["baseline_days_used"][use])
    pooled["baseline_days_used"] = days_used
    return pooled


def _evaluate(
    pooled: dict[str, np.ndarray], spec: _RateSpec, thresholds_for: np.ndarray | None = None
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
    counts = pooled["expected_counts"]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative_variance = pooled["variance"] / expected**2
        poisson = 1.0 / counts + 1.0 / pooled["baseline_counts"]
        sigma = np.sqrt(np.maximum(relative_variance, poisson))
        drop = 1.0 - pooled["observed"] / expected
    eligible = (
        (expected > 0)
        & (pooled["spend"] >= spec.min_window_spend)
        & (pooled["baseline_counts"] >= spec.min_baseline_counts)
        & (counts >= spec.min_expected_counts)
    )
    if spec.inverted:
        eligible &= pooled["observed"] > 0  # no conversions at all: ZERO_CONVERSIONS' case
    safe_counts = np.where(eligible, counts, 1.0)
    extra = np.where(eligible, np.maximum(sigma**2 - 1.0 / safe_counts, 0.0), 0.0)
    alpha = float(scipy_stats.norm.sf(spec.z))
    tail = _lower_tail(safe_counts * np.clip(1.0 - drop, 0.0, None), safe_counts, extra)
    fires = eligible & (drop >= spec.min_drop) & (tail <= alpha)
    # The shortfall at which the tail reaches alpha: the threshold shown in evidence.
    wanted = np.ones_like(eligible) if thresholds_for is None else fires | thresholds_for
    counts_w, extra_w = safe_counts[wanted], extra[wanted]
    low, high = np.zeros_like(counts_w), counts_w.copy()
    for _ in range(40 if counts_w.size else 0):
        middle = (low + high) / 2
        below = _lower_tail(middle, counts_w, extra_w) <= alpha
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    required = np.full_like(safe_counts, np.nan)
    required[wanted] = np.where(
        _lower_tail(np.zeros_like(counts_w), counts_w, extra_w) > alpha,
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


def _lower_tail(observed: np.ndarray, mean: np.ndarray, extra_variance: np.ndarray) -> np.ndarray:
    """P(count <= observed) for a count with this mean and relative variance 1/mean + extra:
    Poisson when extra is 0, else negative binomial with shape 1/extra (continuous in observed)."""
    poisson = special.gammaincc(observed + 1.0, mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = 1.0 / extra_variance
        negative_binomial = special.betainc(shape, observed + 1.0, shape / (shape + mean))
    return np.where(extra_variance > 1e-12, negative_binomial, poisson)


def _rate_alerts(context: _Context, spec: _RateSpec) -> tuple[list[Alert], list[Check]]:
    per_window = {length: _window_stats(context, spec, length) for length in sorted(spec.windows)}
    alerts: list[Alert] = []
    cleared: list[Check] = []
    for level in context.config.levels:
        _, keys = context.groups[level]
        best: dict[int, tuple[int, dict[str, float]]] = {}
        # The shortest window each entity was scored in (the latest view of its metric).
        scored: dict[int, tuple[int, dict[str, float]]] = {}
        wanted = context.wanted_checks(spec, level)
        for length, (stats, _) in per_window.items():
            evaluated = _evaluate(_pool(context, stats, level, spec), spec, wanted)
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


def _rate_figures(spec: _RateSpec, row: dict[str, float]) -> tuple[float, float, float]:
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
    context: _Context,
    spec: _RateSpec,
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
    context: _Context,
    spec: _RateSpec,
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
    baseline_all_days = _ratio(float(row["baseline_numerator"]), float(row["baseline_denominator"]))
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
            _ratio(float(row["denominator"]), observed)
            if spec.inverted
            else _ratio(observed, float(row["denominator"]))
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
            f"{context.baseline_window[1]}: {change_text} on {spend:,.2f}{_suffix(currency)} spend "
            f"(alert at {fmt(threshold)})."
        ),
        evidence=jsonable(evidence),
    )


def _largest_shortfalls(
    context: _Context, stats: dict[str, np.ndarray], expected: np.ndarray, rows: np.ndarray, spec: _RateSpec
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


# --- ZERO_CONVERSIONS ----------------------------------------------------------------------------


def _zero_conversion_alerts(context: _Context) -> tuple[list[Alert], list[Check]]:
    panel, config = context.panel, context.config
    cols = panel.scored
    model = context.conversion_model
    ok = context.model_ok(model)
    expected = np.where(
        ok[:, None],
        model.expected(panel.weekdays[cols], panel.spend[:, cols], panel.maturity[:, cols]),
        0.0,
    )
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
        keys, grouped, baseline = _group_arrays(context, level, arrays, baseline_counts)
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
                expected_run < config.zero_min_expected
                or spend_run < config.zero_min_spend
                or baseline[i] < config.zero_min_baseline_conversions
            ):
                continue
            alerts.append(
                _zero_alert(context, level, key, length, expected_run, spend_run, float(baseline[i]))
            )
    return alerts, cleared


def _zero_check(context: _Context, level: EntityLevel, key: tuple[str, ...], last: dict[str, float]) -> Check:
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


def _trailing_zero_run(conversions: np.ndarray, spend: np.ndarray, has_row: np.ndarray) -> np.ndarray:
    """Days at the end of the period with data, spend and no conversion, per row."""
    quiet = has_row & (spend > 0) & (conversions == 0)
    run = np.zeros(quiet.shape[0], dtype=int)
    alive = np.ones(quiet.shape[0], dtype=bool)
    for j in range(quiet.shape[1] - 1, -1, -1):
        alive &= quiet[:, j]
        run += alive
    return run


def _group_arrays(
    context: _Context, level: EntityLevel, arrays: dict[str, np.ndarray], per_campaign: np.ndarray
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
    context: _Context,
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
    expected_by_day = np.where(
        context.model_ok(model)[:, None],
        model.expected(
            context.panel.weekdays[cols], context.panel.spend[:, cols], context.panel.maturity[:, cols]
        ),
        0.0,
    )[rows].sum(axis=0)
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
            f"{context.describe(identity)} spent {spend:,.2f}{_suffix(currency)} from {window[0]} to "
            f"{window[1]} with zero conversions; at its usual rate for those weekdays about "
            f"{expected:.1f} would have been reported by now. Check conversion tracking before "
            f"changing budgets."
        ),
        evidence=jsonable(evidence),
    )


# --- SPEND_PACING --------------------------------------------------------------------------------


def _pacing_alerts(context: _Context) -> tuple[list[Alert], list[Check]]:
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
        for index, length in enumerate(config.pacing_windows):
            cols = panel.window(length)
            window_targets = targets[cols]
            if not known[cols].all() or not np.isfinite(window_targets).all():
                continue
            spent, target = float(spend[cols].sum()), float(window_targets.sum())
            scored = scored or (length, spent, target)
            ratio = spent / target
            if abs(spent - target) < config.pacing_min_amount:
                continue
            if ratio >= config.pacing_over_ratio[index]:
                direction, deviation = "over", 1.0 - 1.0 / ratio
            elif ratio <= config.pacing_under_ratio[index]:
                direction, deviation = "under", 1.0 - ratio
            else:
                continue
            if best is None or deviation > best[0]:
                best = (deviation, length, direction, spent, target, config.pacing_over_ratio[index]
                        if direction == "over" else config.pacing_under_ratio[index])  # fmt: skip
        usual = _usual_pacing(panel, position, targets, known)
        if best is None or (best[2] == "under" and (usual is None or usual < config.pacing_under_usual_min)):
            key = (entity.platform, entity.account_id, entity.campaign_id)
            if scored is not None and context.wants_check(AlertType.SPEND_PACING, EntityLevel.CAMPAIGN, key):
                cleared.append(_pacing_check(context, position, *scored))
            continue
        deviation, length, direction, spent, target, threshold = best
        alerts.append(
            _pacing_alert(
                context, position, budget, length, direction, spent, target, threshold, deviation, usual
            )
        )
    return alerts, cleared


def _pacing_check(context: _Context, position: int, length: int, spent: float, target: float) -> Check:
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


def _usual_pacing(panel: Panel, position: int, targets: np.ndarray, known: np.ndarray) -> float | None:
    """Median spend / budget over the baseline days with a budget and known delivery."""
    cols = panel.baseline
    usable = known[cols] & np.isfinite(targets[cols])
    if usable.sum() < 7:
        return None
    ratios = panel.spend[position, cols][usable] / targets[cols][usable]
    return float(np.median(ratios))


def _pacing_alert(
    context: _Context,
    position: int,
    budget: Budget,
    length: int,
    direction: str,
    spent: float,
    target: float,
    threshold: float,
    deviation: float,
    usual: float | None,
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
        "budget_type": budget.kind,
        "daily_budget": budget.daily_budget,
        "lifetime_budget": budget.lifetime_budget,
        "budget_start": budget.start.isoformat() if budget.start else None,
        "budget_end": budget.end.isoformat() if budget.end else None,
        "currency": currency,
        "daily": [
            {
                "date": context.panel.days[c].isoformat(),
                "spend": _round(context.panel.spend[position, c]),
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
            f"{context.describe(identity)} spent {spent:,.2f}{_suffix(currency)} from {window[0]} to "
            f"{window[1]} against {target:,.2f} of budget ({budget_text}): {ratio:.0%}, alert at "
            f"{'>=' if direction == 'over' else '<='} {threshold:.0%}"
            + (f"; it usually spends {usual:.0%}." if usual is not None else ".")
        ),
        evidence=jsonable(evidence),
    )


# --- combining: most specific per entity, roll-ups, gating ---------------------------------------


def _keep_most_specific(alerts: list[Alert]) -> list[Alert]:
    """ZERO_CONVERSIONS explains a ROAS drop and a CPA spike of the same entity, a ROAS drop
    explains a CPA spike: keep the first, note the others in its evidence."""
    by_entity: dict[tuple[str, str, str | None, str], list[Alert]] = {}
    for alert in alerts:
        if alert.alert_type in CONVERSION_FAMILY:
            # Ids are unique only within an account: two accounts' campaign c1 are two entities.
            entity = (alert.platform, alert.entity_level.value, alert.account_id, alert.entity_id)
            by_entity.setdefault(entity, []).append(alert)
    dropped: set[int] = set()
    replaced: dict[int, Alert] = {}
    for group in by_entity.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda a: CONVERSION_FAMILY.index(a.alert_type))
        kept, others = group[0], group[1:]
        related = [
            {
                "alert_type": o.alert_type.value,
                "metric": o.metric,
                "value": o.value,
                "baseline": o.baseline,
                "window_start": o.window_start.isoformat(),
                "window_end": o.window_end.isoformat(),
            }
            for o in others
        ]
        replaced[id(kept)] = replace(kept, evidence={**kept.evidence, "related_signals": related})
        dropped.update(id(o) for o in others)
    return [replaced.get(id(a), a) for a in alerts if id(a) not in dropped]


def _family(alert_type: AlertType) -> str:
    return "conversions" if alert_type in CONVERSION_FAMILY else alert_type.value


def roll_up(alerts: list[Alert], config: AlertConfig) -> list[Alert]:
    """Broader alerts carry their narrower ones when they have several, and defer to a single one.

    An account alert with ``rollup_min_children`` or more campaign alerts of its family under it
    (ZERO_CONVERSIONS, ROAS_DROP and CPA_SPIKE are one family: one cause shows as any of them)
    stays active and lists them, and they are held ("rolled up into ..."). With fewer that account
    for at least half of its shortfall, it adds nothing to them and is held instead ("explained
    by ..."); when they account for less, the problem is broader than them and all stay active
    (children without comparable figures are left out of that sum). Same between platform and account
    alerts. A broader alert with no narrower ones (a change spread thinly over many entities)
    stays active.
    """
    reasons: dict[int, str] = {}
    children_of: dict[int, list[Alert]] = {}
    for parent_level, child_level in (
        (EntityLevel.ACCOUNT, EntityLevel.CAMPAIGN),
        (EntityLevel.PLATFORM, EntityLevel.ACCOUNT),
    ):
        for parent in (
            a for a in alerts if a.entity_level == parent_level and not a.alert_type.is_data_alert
        ):
            children = [
                a
                for a in alerts
                if a.entity_level == child_level
                and _family(a.alert_type) == _family(parent.alert_type)
                and a.platform == parent.platform
                and (parent_level == EntityLevel.PLATFORM or a.account_id == parent.account_id)
            ]
            if not children:
                continue
            children_of[id(parent)] = children
            if len(children) >= config.rollup_min_children:
                for child in children:
                    reasons.setdefault(
                        id(child),
                        f"rolled up into the {parent_level.value} {parent.alert_type.value} alert for "
                        f"{parent.entity_name} ({parent.entity_id})",
                    )
            elif _explained_share(parent, children) >= 0.5:
                listed = " and ".join(
                    f"{c.entity_name} ({c.entity_id}, {c.alert_type.value})" for c in children
                )
                reasons[id(parent)] = f"explained by the {child_level.value} alerts for {listed}"
    out = []
    for alert in alerts:
        reason = reasons.get(id(alert))
        children = children_of.get(id(alert))
        if children:
            narrower = [
                {
                    "alert_type": c.alert_type.value,
                    "entity_level": c.entity_level.value,
                    "entity_id": c.entity_id,
                    "entity_name": c.entity_name,
                    "value": c.value,
                    "baseline": c.baseline,
                }
                for c in children
            ]
            alert = replace(alert, evidence={**alert.evidence, "narrower_alerts": narrower})
        if reason:
            alert = replace(alert, suppressed_reason=alert.suppressed_reason or reason)
        out.append(alert)
    return out


def _explained_share(parent: Alert, children: list[Alert]) -> float:
    """Share of the broader alert's shortfall its narrower alerts account for (1.0 when the
    figures are not comparable): one small campaign's drop does not explain an account-wide one."""
    for name in ("value", "conversions", "clicks"):
        key_expected, key_observed = f"expected_{name}", f"observed_{name}"

        def shortfall(alert: Alert, keys: tuple[str, str] = (key_expected, key_observed)) -> float | None:
            if keys[0] in alert.evidence and keys[1] in alert.evidence:
                return float(alert.evidence[keys[0]]) - float(alert.evidence[keys[1]])
            return None

        total = shortfall(parent)
        explained = [s for c in children if (s := shortfall(c)) is not None]
        if total is not None and explained:
            return sum(max(s, 0.0) for s in explained) / total if total > 0 else 1.0
    return 1.0


def _gate_check(check: Check, context: _Context, period: tuple[date, date]) -> str | None:
    """Why a passed check does not count as scored (its data is not healthy), or ``None``."""
    key = (
        (check.platform,)
        if check.entity_level == EntityLevel.PLATFORM
        else (check.platform, str(check.account_id))
    )
    return gate_reason(context.health, context.scopes(check.entity_level, key), period)


def _gate(alerts: list[Alert], context: _Context) -> list[Alert]:
    out = []
    for alert in alerts:
        key: tuple[str, ...]
        if alert.entity_level == EntityLevel.PLATFORM:
            key = (alert.platform,)
        else:
            key = (alert.platform, str(alert.account_id))
        reason = gate_reason(
            context.health, context.scopes(alert.entity_level, key), (alert.window_start, alert.window_end)
        )
        out.append(replace(alert, suppressed_reason=reason) if reason else alert)
    return out


def _account_facts(
    panel: Panel,
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], str | None], dict[tuple[str, str], str]]:
    """Spend over the scored period (money at stake for data alerts), currency and name per account."""
    if not panel.size:
        return {}, {}, {}
    frame = panel.entities[["platform", "account_id", "currency", "account_name"]].copy()
    frame["spend"] = panel.spend[:, panel.scored].sum(axis=1)
    grouped = frame.groupby(["platform", "account_id"], sort=True)
    return (
        {k: float(v) for k, v in grouped["spend"].sum().items()},
        {k: (v if isinstance(v, str) else None) for k, v in grouped["currency"].last().items()},
        {k: v for k, v in grouped["account_name"].last().items() if isinstance(v, str) and v},
    )


# --- helpers -------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _round(value: float) -> float:
    return round(float(value), 6)


def _suffix(currency: str | None) -> str:
    return f" {currency}" if currency else ""
