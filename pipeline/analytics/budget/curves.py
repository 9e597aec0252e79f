"""Saturating response curves per campaign, fitted on daily spend vs outcome.

The model (per campaign, per day t)::

    outcome_t = dow[weekday(t)] * R(x_t) * noise_t
    R(x)      = vmax * x^k / (h^k + x^k)          Hill curve; k = 1 is Michaelis-Menten
    x_t       = spend_t, or its normalised geometric adstock (1-l) * sum_j l^j * spend_{t-j}

``dow`` are day-of-week demand factors (geometric mean 1) fitted jointly, so weekly seasonality in
demand is not mistaken for a spend effect (platforms pace more spend into high-demand days). The
Hill slope ``k`` is fixed (default 1) and limited to (0, 1], which keeps every curve concave: then
the allocator's water-filling is exact. With normalised adstock a steady daily spend ``s`` has
``x = s``, so ``R`` is the steady-state daily outcome of a daily spend and allocations use it as is.

Parameterisation. Each campaign's observed spend usually moves little (budgets are steady; pacing
adds ~10 %), so the *level* of the curve at the spend the campaign runs at is well measured while
its *curvature* is not. The fit therefore estimates ``m`` (outcome at the reference spend, the
mean spend of the fit window) and ``e`` (elasticity at the reference spend: a 1 % spend change
moves the outcome by e %), from which ``vmax`` and ``h`` follow exactly. The elasticity gets a
Gaussian prior pooled across the campaigns of the same run (hierarchical, the spread between
campaigns integrated out: :mod:`.pooling`): each campaign's own data moves it as far as their precision allows, and campaigns whose spend
hardly varied borrow the typical curvature of the others. With fewer than
``CurveConfig.min_campaigns_to_pool`` usable campaigns the configured prior is used (elasticity
0.5 = half saturation at the reference spend, a common neutral assumption).

Noise. Residuals are relative to the prediction (multiplicative noise) and use a Huber loss, so a
day with broken tracking or an outlier does not bend the curve. The newest
``exclude_recent_days`` days are left out: their conversions are still being attributed.

Quality. The last ``holdout_fraction`` of the fit days are held out, the curve is refitted without
them and scored on them (R², MAPE, bias of the total). R² is low when spend hardly varied (the
curve then has little to explain beyond the weekday pattern); MAPE and the bias say more. A
campaign is *not* trusted — and held near
its current spend by the allocator — when it has too few days with spend or too few conversions
(``thin_data``), or when the held-out days deviate from the curve's prediction by more than
``max_holdout_bias`` and by more than count noise explains (``poor_fit``: behaviour changed). A
campaign without spend in its last ``inactive_days`` days is ``inactive`` (not allocated).

Money. All rows must share one currency (pass reporting-currency amounts when accounts differ);
the allocator refuses curves whose ``currency`` differs. Amounts are per day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from pipeline.analytics.budget.pooling import ElasticityPool, pool_elasticities, pooled_prior

CampaignKey = tuple[str, str, str]  # (platform, account_id, campaign_id)

KEY_COLUMNS = ["platform", "account_id", "campaign_id"]
REQUIRED_COLUMNS = ["date_day", *KEY_COLUMNS, "spend", "conversions", "conversion_value"]


class Goal(StrEnum):
    VALUE = "value"  # maximise conversion value (revenue); return = ROAS
    CONVERSIONS = "conversions"  # maximise conversions; return = conversions per unit spend (1/CPA)


class FitStatus(StrEnum):
    OK = "ok"
    THIN_DATA = "thin_data"
    POOR_FIT = "poor_fit"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class CurveConfig:
    """How curves are fitted and when they are trusted."""

    lookback_days: int = 90  # fit window before as_of
    exclude_recent_days: int = 3  # newest days: conversions still being restated upwards
    current_window_days: int = 14  # "current spend" = mean daily spend over these last days
    inactive_days: int = 3  # no spend in the last N days -> inactive

    hill_slope: float = 1.0  # k in (0, 1]: concave curves (1 = Michaelis-Menten)
    weekly_seasonality: bool = True
    min_days_for_seasonality: int = 21
    adstock_decay: float = 0.0  # geometric carryover l in [0, 1); 0 = none

    # Prior on the elasticity at the reference spend, and its pooling across campaigns.
    prior_elasticity: float = 0.5
    prior_elasticity_sd: float = 0.15  # used when too few campaigns to pool
    pool_prior: bool = True
    min_campaigns_to_pool: int = 5
    min_pooled_sd: float = 0.03

    huber_scale: float = 2.0  # in robust standard deviations of the relative residual

    # Trust.
    min_days: int = 21  # days with spend in the fit window: three of each weekday
    min_conversions: float = 30.0
    holdout_fraction: float = 0.2
    min_holdout_days: int = 7
    max_holdout_bias: float = 0.35  # |log(predicted / actual)| of the held-out total
    holdout_noise_z: float = 2.5  # ... and beyond this many standard errors of noise

    keep_points: int = 60  # observations kept on each fit for the picture

    def __post_init__(self) -> None:
        if not 0 < self.hill_slope <= 1:
            raise ValueError("hill_slope must be in (0, 1] (concave curves)")
        if not 0 <= self.adstock_decay < 1:
            raise ValueError("adstock_decay must be in [0, 1)")
        if not 0 < self.prior_elasticity < self.hill_slope:
            raise ValueError("prior_elasticity must be in (0, hill_slope)")
        if not 0 < self.holdout_fraction < 0.5:
            raise ValueError("holdout_fraction must be in (0, 0.5)")
        if min(self.lookback_days, self.current_window_days, self.inactive_days, self.min_days) < 1:
            raise ValueError("day counts must be at least 1")


@dataclass(frozen=True)
class CurveFit:
    """One campaign's fitted daily response curve and the evidence behind it.

    ``response(s)`` is the expected daily outcome (value or conversions) at steady daily spend
    ``s``, without seasonality; ``marginal(s)`` its derivative (the return of the next unit).
    Only ``status == ok`` curves are used to move money; the others carry ``reason``.
    """

    platform: str
    account_id: str
    campaign_id: str
    campaign_name: str
    goal: Goal
    status: FitStatus
    reason: str | None
    vmax: float
    half_saturation: float
    hill_slope: float
    adstock_decay: float
    current_spend: float  # daily, mean of the last current_window_days
    reference_spend: float  # daily, mean over the fit days (where the curve is anchored)
    observed_return: float  # outcome / spend over the fit days (ROAS, or conversions per unit)
    spend_range: tuple[float, float]  # 5th-95th percentile of the daily spend fitted on
    days: int  # days with spend in the fit window
    conversions: float
    elasticity: float  # at the reference spend
    elasticity_se: float | None  # posterior standard error
    r2_holdout: float | None
    mape_holdout: float | None
    holdout_bias: float | None  # log(predicted / actual) on the held-out total
    holdout_days: int
    weekly_factors: tuple[float, ...]  # Monday..Sunday demand multipliers
    currency: str | None = None
    prior: tuple[float, float] | None = None  # (mean, sd) of the elasticity prior used
    points: tuple[tuple[float, float], ...] = field(default=(), repr=False)  # (spend, dow-adj. outcome)
    # The campaign's own evidence on its curvature (flat prior), for pooling and experiments:
    elasticity_data: float | None = None
    elasticity_data_se: float | None = None
    level_se: float | None = None  # standard error of log(outcome at the reference spend)
    log_spend_sd: float | None = None  # how much the fitted spend varied (identifies the curvature)

    @property
    def key(self) -> CampaignKey:
        return (self.platform, self.account_id, self.campaign_id)

    @property
    def trusted(self) -> bool:
        return self.status is FitStatus.OK

    def response(self, spend: Any) -> Any:
        s = np.maximum(np.asarray(spend, dtype=np.float64), 0.0)
        k, h = self.hill_slope, self.half_saturation
        if self.vmax <= 0 or h <= 0:
            return np.zeros_like(s) if s.ndim else 0.0
        sk = s**k
        out = self.vmax * sk / (h**k + sk)
        return out if out.ndim else float(out)

    def marginal(self, spend: Any) -> Any:
        s = np.maximum(np.asarray(spend, dtype=np.float64), 1e-12)
        k, h = self.hill_slope, self.half_saturation
        if self.vmax <= 0 or h <= 0:
            return np.zeros_like(s) if s.ndim else 0.0
        hk = h**k
        out = self.vmax * k * hk * s ** (k - 1) / (hk + s**k) ** 2
        return out if out.ndim else float(out)

    def elasticity_at(self, spend: float) -> float:
        if spend <= 0 or self.vmax <= 0:
            return 0.0
        hk = self.half_saturation**self.hill_slope
        return self.hill_slope * hk / (hk + spend**self.hill_slope)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no observation points)."""

        def rounded(value: float | None, digits: int = 4) -> float | None:
            return None if value is None or not math.isfinite(value) else round(float(value), digits)

        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "goal": self.goal.value,
            "status": self.status.value,
            "reason": self.reason,
            "curve": "hill",
            "vmax": rounded(self.vmax),
            "half_saturation": rounded(self.half_saturation),
            "hill_slope": self.hill_slope,
            "adstock_decay": self.adstock_decay,
            "current_spend": rounded(self.current_spend, 2),
            "reference_spend": rounded(self.reference_spend, 2),
            "observed_return": rounded(self.observed_return),
            "marginal_return_at_current": rounded(self.marginal(self.current_spend))
            if self.current_spend > 0
            else None,
            "spend_range": [rounded(v, 2) for v in self.spend_range],
            "days": self.days,
            "conversions": rounded(self.conversions, 2),
            "elasticity": rounded(self.elasticity),
            "elasticity_se": rounded(self.elasticity_se),
            "r2_holdout": rounded(self.r2_holdout),
            "mape_holdout": rounded(self.mape_holdout),
            "holdout_bias": rounded(self.holdout_bias),
            "holdout_days": self.holdout_days,
            "weekly_factors": [round(f, 4) for f in self.weekly_factors],
            "currency": self.currency,
            "prior_elasticity": None if self.prior is None else [round(p, 4) for p in self.prior],
            "elasticity_data": rounded(self.elasticity_data),
            "elasticity_data_se": rounded(self.elasticity_data_se),
            "level_se": rounded(self.level_se),
            "log_spend_sd": rounded(self.log_spend_sd),
        }

    @classmethod
    def from_parameters(
        cls,
        key: CampaignKey,
        *,
        vmax: float,
        half_saturation: float,
        current_spend: float,
        hill_slope: float = 1.0,
        goal: Goal | str = Goal.VALUE,
        campaign_name: str | None = None,
        status: FitStatus = FitStatus.OK,
        reason: str | None = None,
        currency: str | None = None,
    ) -> CurveFit:
        """A curve with known parameters (a ground truth, a curve from elsewhere, tests)."""
        platform, account_id, campaign_id = key
        curve = cls(
            platform=platform,
            account_id=account_id,
            campaign_id=campaign_id,
            campaign_name=campaign_name or campaign_id,
            goal=Goal(goal),
            status=status,
            reason=reason,
            vmax=float(vmax),
            half_saturation=float(half_saturation),
            hill_slope=float(hill_slope),
            adstock_decay=0.0,
            current_spend=float(current_spend),
            reference_spend=float(current_spend),
            observed_return=0.0,
            spend_range=(float(current_spend), float(current_spend)),
            days=0,
            conversions=0.0,
            elasticity=0.0,
            elasticity_se=None,
            r2_holdout=None,
            mape_holdout=None,
            holdout_bias=None,
            holdout_days=0,
            weekly_factors=(1.0,) * 7,
            currency=currency,
        )
        ret = curve.response(current_spend) / current_spend if current_spend > 0 else 0.0
        return replace(curve, observed_return=float(ret), elasticity=curve.elasticity_at(current_spend))


# --------------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------------


@dataclass
class _Series:
    key: CampaignKey
    name: str
    currency: str | None
    spend: np.ndarray  # raw daily spend of the fit days (spend > 0, mature), oldest first
    x: np.ndarray  # spend or adstocked spend
    y: np.ndarray  # outcome
    conversions: float
    dow: np.ndarray  # 0 = Monday
    current_spend: float
    inactive: bool


@dataclass
class _Estimate:
    params: np.ndarray
    s_ref: float
    use_dow: bool
    elasticity_se: float | None  # from the data rows only (flat prior) or the posterior
    level_se: float | None = None  # of log(outcome at the reference spend)


def fit_response_curves(
    campaign_daily: pd.DataFrame,
    *,
    goal: Goal | str = Goal.VALUE,
    config: CurveConfig | None = None,
    as_of: date | None = None,
) -> dict[CampaignKey, CurveFit]:
    """Fit one saturating response curve per campaign of ``campaign_daily``.

    ``campaign_daily`` has one row per campaign and day (``marts.fct_campaign_performance_daily``):
    date_day, platform, account_id, campaign_id, spend, conversions, conversion_value; optional
    campaign_name and currency. All money must be in one currency. ``as_of`` is the first
    incomplete day (default: the day after the newest row); rows on or after it are ignored.
    ``goal`` picks the outcome: conversion value ("value") or conversions ("conversions").

    Returns ``{(platform, account_id, campaign_id): CurveFit}`` sorted by key, one entry per
    campaign with any row in the window (untrusted ones carry status and reason).
    """
    goal = Goal(goal)
    config = config or CurveConfig()
    series = _prepare(campaign_daily, goal, config, as_of)

    fittable = [s for s in series if not s.inactive and _thin_reason(s, config) is None]
    default = (config.prior_elasticity, config.prior_elasticity_sd)
    scales = {s.key: _scale_pass(s, config, default) for s in fittable}
    # Stage 1: each campaign's own elasticity (flat prior), for the pooled prior.
    flat = (config.prior_elasticity, 10.0)
    first = [_fit(s, config, flat, scales[s.key], data_only_se=True) for s in fittable]
    prior, _ = _pooled_prior(first, config, [s.key for s in fittable])
    own = {s.key: e for s, e in zip(fittable, first, strict=True)}

    fits: dict[CampaignKey, CurveFit] = {}
    for s in series:
        if s.inactive:
            fits[s.key] = _fallback(
                s, goal, config, prior, FitStatus.INACTIVE,
                f"no spend in the last {config.inactive_days} days; not allocated",
            )  # fmt: skip
            continue
        thin = _thin_reason(s, config)
        if thin is not None:
            fits[s.key] = _fallback(s, goal, config, prior, FitStatus.THIN_DATA, thin)
            continue
        final = _fit(s, config, prior, scales[s.key])
        holdout = _holdout_metrics(s, config, prior, scales[s.key])
        fits[s.key] = _curve_from(s, goal, config, prior, final, holdout, own[s.key])
    return dict(sorted(fits.items()))


def _prepare(frame: pd.DataFrame, goal: Goal, config: CurveConfig, as_of: date | None) -> list[_Series]:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"campaign_daily lacks columns: {', '.join(missing)}")
    data = frame.copy()
    data["date_day"] = pd.to_datetime(data["date_day"]).dt.normalize()
    for column in KEY_COLUMNS:
        data[column] = data[column].astype(str)
    for column in ("spend", "conversions", "conversion_value"):
        # Database numerics arrive as Decimal; nulls mean nothing was reported.
        data[column] = pd.to_numeric(data[column].astype("float64"), errors="coerce").fillna(0.0)
    if "campaign_name" not in data.columns:
        data["campaign_name"] = data["campaign_id"]
    if "currency" not in data.columns:
        data["currency"] = None
    if data.empty:
        return []

    end = pd.Timestamp(as_of) if as_of is not None else data["date_day"].max() + pd.Timedelta(days=1)
    start = end - pd.Timedelta(days=config.lookback_days)
    data = data[(data["date_day"] >= start) & (data["date_day"] < end)]
    if data.empty:
        return []
    mature_end = end - pd.Timedelta(days=config.exclude_recent_days)
    current_start = end - pd.Timedelta(days=config.current_window_days)
    inactive_start = end - pd.Timedelta(days=config.inactive_days)
    outcome_column = "conversion_value" if goal is Goal.VALUE else "conversions"

    # Days each account reported anything: a missing account-day is a data gap, not zero spend.
    account_days = {
        key: np.unique(days.to_numpy()) for key, days in data.groupby(["platform", "account_id"])["date_day"]
    }

    daily = (
        data.groupby([*KEY_COLUMNS, "date_day"], sort=True)
        .agg(
            spend=("spend", "sum"),
            conversions=("conversions", "sum"),
            conversion_value=("conversion_value", "sum"),
            campaign_name=("campaign_name", "last"),
            currency=("currency", "last"),
        )
        .reset_index()
    )
    out: list[_Series] = []
    for key, rows in daily.groupby(KEY_COLUMNS, sort=True):
        key = (str(key[0]), str(key[1]), str(key[2]))
        days = rows["date_day"]
        spend = rows["spend"].to_numpy()
        recent = (days >= current_start).to_numpy()
        # Mean over the account's reported days in the window since the campaign's first row (a
        # campaign launched last week is not diluted by days before it existed).
        reported = account_days[(key[0], key[1])]
        since = max(current_start, days.iloc[0])
        n_current = max(int(np.sum(reported >= np.datetime64(since))), 1)
        current = float(spend[recent].sum() / n_current)
        inactive = not bool((spend[(days >= inactive_start).to_numpy()] > 0).any()) or current <= 0

        x_all = _adstock(days, spend, config.adstock_decay)
        use = ((days < mature_end) & (rows["spend"] > 0)).to_numpy()
        currency = rows["currency"].dropna()
        out.append(
            _Series(
                key=key,
                name=str(rows["campaign_name"].iloc[-1]),
                currency=str(currency.iloc[-1]) if len(currency) else None,
                spend=spend[use],
                x=x_all[use],
                y=rows[outcome_column].to_numpy()[use],
                conversions=float(rows["conversions"].to_numpy()[use].sum()),
                dow=days.dt.weekday.to_numpy()[use],
                current_spend=current,
                inactive=inactive,
            )
        )
    return out


def _adstock(days: pd.Series, spend: np.ndarray, decay: float) -> np.ndarray:
    """Normalised geometric adstock over consecutive calendar days (missing days count as 0)."""
    if decay <= 0:
        return spend.astype(np.float64)
    ordinals = (days - days.iloc[0]).dt.days.to_numpy()
    full = np.zeros(int(ordinals[-1]) + 1)
    full[ordinals] = spend
    carried = np.empty_like(full)
    level = full[0]  # assume the campaign ran at its first observed spend before the window
    for i, s in enumerate(full):
        level = decay * level + (1.0 - decay) * s
        carried[i] = level
    return carried[ordinals]


def _thin_reason(s: _Series, config: CurveConfig) -> str | None:
    if len(s.y) < config.min_days:
        return (
            f"only {len(s.y)} days with spend in the fit window (needs {config.min_days}); "
            "held at current spend"
        )
    if s.conversions < config.min_conversions:
        return (
            f"only {s.conversions:g} conversions in the fit window (needs {config.min_conversions:g}); "
            "held at current spend"
        )
    return None


def _model(
    params: np.ndarray, z: np.ndarray, dow: np.ndarray, k: float, use_dow: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and the shared factor of its elasticity derivative.

    With ``z = (x / s_ref)^k`` and ``q = e / k`` (share of vmax reached at s_ref), the Hill curve
    anchored at ``m`` (outcome at s_ref) is ``m z / (z + q (1 - z))``.
    """
    q = params[1] / k
    denominator = z + q * (1.0 - z)
    pred = math.exp(params[0]) * z / denominator
    if use_dow:
        pred = pred * np.exp(np.append(params[2:8], -params[2:8].sum())[dow])
    return pred, (1.0 - z) / (k * denominator)


@dataclass
class _Scale:
    """From a first, relative-residual pass: weights in units of the robust noise spread."""

    weights: np.ndarray
    start: np.ndarray
    s_ref: float
    use_dow: bool


def _bounds(n_par: int, level: float, k: float) -> tuple[np.ndarray, np.ndarray]:
    lower = np.full(n_par, -1.5)  # day-of-week factors within e^-1.5..e^1.5
    upper = np.full(n_par, 1.5)
    lower[:2] = (level - 20.0, 0.005 * k)
    upper[:2] = (level + 20.0, 0.995 * k)
    return lower, upper


def _solve(
    s: _Series,
    config: CurveConfig,
    prior: tuple[float, float],
    weights: np.ndarray,
    start: np.ndarray,
    s_ref: float,
    use_dow: bool,
    mask: np.ndarray | None = None,
) -> Any:
    """Huber least squares on weighted residuals plus one prior residual on the elasticity."""
    k = config.hill_slope
    x, y, dow = s.x, s.y, s.dow
    if mask is not None:
        x, y, dow, weights = x[mask], y[mask], dow[mask], weights[mask]
    z = (x / s_ref) ** k
    mu, tau = prior
    n_par = len(start)
    indicator = np.zeros((len(y), max(n_par - 2, 0)))
    if use_dow:  # d log(dow factor) / d delta_j: +1 on weekday j, -1 on Sunday (sum-to-zero)
        indicator[np.arange(len(y)), np.minimum(dow, 5)] = np.where(dow < 6, 1.0, 0.0)
        indicator[dow == 6, :] = -1.0

    def residuals(p: np.ndarray) -> np.ndarray:
        pred, _ = _model(p, z, dow, k, use_dow)
        return np.append((y - pred) * weights, (p[1] - mu) / tau)

    def jacobian(p: np.ndarray) -> np.ndarray:
        pred, shape = _model(p, z, dow, k, use_dow)
        scaled = -weights * pred
        jac = np.empty((len(y) + 1, n_par))
        jac[:-1, 0] = scaled
        jac[:-1, 1] = -scaled * shape
        if use_dow:
            jac[:-1, 2:] = scaled[:, None] * indicator
        jac[-1] = 0.0
        jac[-1, 1] = 1.0 / tau
        return jac

    lower, upper = _bounds(n_par, float(start[0]), k)
    return least_squares(
        residuals, np.clip(start, lower + 1e-9, upper - 1e-9), jac=jacobian, bounds=(lower, upper),
        loss="huber", f_scale=config.huber_scale, x_scale=np.full(n_par, 0.1), xtol=1e-8, ftol=1e-8,
        max_nfev=200,
    )  # fmt: skip


def _scale_pass(s: _Series, config: CurveConfig, prior: tuple[float, float]) -> _Scale:
    """Residuals relative to the mean outcome, then weights = 1 / (robust sd x prediction)."""
    k = config.hill_slope
    s_ref = float(np.mean(s.x))
    use_dow = config.weekly_seasonality and len(s.y) >= config.min_days_for_seasonality
    mean_y = max(float(np.mean(s.y)), 1e-9)
    start = np.zeros(8 if use_dow else 2)
    start[0] = math.log(mean_y)
    start[1] = min(max(prior[0], 0.05 * k), 0.95 * k)
    # Relative residuals are ~0.15 each: scale the prior sd alike so it weighs as in the real pass.
    rough = (prior[0], 0.15 * prior[1])
    first = _solve(s, config, rough, np.full(len(s.y), 1.0 / mean_y), start, s_ref, use_dow)
    pred, _ = _model(first.x, (s.x / s_ref) ** k, s.dow, k, use_dow)
    floor = 0.1 * mean_y
    relative = (s.y - pred) / np.maximum(pred, floor)
    sigma = max(1.4826 * float(np.median(np.abs(relative - np.median(relative)))), 0.02)
    return _Scale(1.0 / (sigma * np.maximum(pred, floor)), first.x, s_ref, use_dow)


def _fit(
    s: _Series,
    config: CurveConfig,
    prior: tuple[float, float],
    scale: _Scale,
    *,
    mask: np.ndarray | None = None,
    data_only_se: bool = False,
) -> _Estimate:
    """The estimate, and the standard error of the elasticity: posterior, or from the data rows
    alone (``data_only_se``, for pooling)."""
    result = _solve(s, config, prior, scale.weights, scale.start, scale.s_ref, scale.use_dow, mask)
    jac = result.jac[:-1]
    information = jac.T @ jac
    if not data_only_se:
        information[1, 1] += 1.0 / prior[1] ** 2
    cov = np.linalg.pinv(information)
    se = float(math.sqrt(max(cov[1, 1], 0.0)))
    level_se = float(math.sqrt(max(cov[0, 0], 0.0)))
    return _Estimate(
        params=result.x, s_ref=scale.s_ref, use_dow=scale.use_dow, elasticity_se=se, level_se=level_se
    )


_BOUND_MARGIN = 0.02  # estimates within 2 % of k from a bound count as pinned to it


def _pooled_prior(
    estimates: Sequence[_Estimate], config: CurveConfig, keys: Sequence[CampaignKey] = ()
) -> tuple[tuple[float, float], ElasticityPool]:
    """Hierarchical pooling of per-campaign elasticities, the spread between campaigns integrated
    out (:mod:`.pooling`): the prior each campaign's own fit then gets, and the pool itself."""
    default = (config.prior_elasticity, config.prior_elasticity_sd)
    k = config.hill_slope
    pool = pool_elasticities(
        {
            key: (float(e.params[1]), e.elasticity_se)
            for key, e in zip(keys or range(len(estimates)), estimates, strict=True)
        },
        lower=0.005 * k,
        upper=0.995 * k,
        bound_margin=_BOUND_MARGIN,
    )
    # An estimate pinned at a bound of the elasticity (0, k) is no interior optimum: its standard
    # error means nothing; it enters the pool as (almost) no information.
    informative = [
        e.elasticity_se is not None
        and 0 < e.elasticity_se < 10
        and _BOUND_MARGIN * k < float(e.params[1]) < (1 - _BOUND_MARGIN) * k
        for e in estimates
    ]
    if not config.pool_prior:
        return default, pool
    mean, sd = pooled_prior(
        pool, min_sd=config.min_pooled_sd, default=default, min_campaigns=config.min_campaigns_to_pool,
        informative=informative,
    )  # fmt: skip
    return (min(max(mean, 0.05 * k), 0.95 * k), sd), pool


@dataclass
class _Holdout:
    r2: float | None
    mape: float | None
    bias: float | None
    days: int
    poor_reason: str | None


def _holdout_metrics(s: _Series, config: CurveConfig, prior: tuple[float, float], scale: _Scale) -> _Holdout:
    n = len(s.y)
    n_hold = max(config.min_holdout_days, round(n * config.holdout_fraction))
    if n - n_hold < config.min_days_for_seasonality // 2 + 5:
        return _Holdout(None, None, None, 0, None)
    train = np.zeros(n, dtype=bool)
    train[: n - n_hold] = True  # time order: the held-out days are the newest ones
    estimate = _fit(s, config, prior, scale, mask=train)
    k = config.hill_slope
    z = (s.x / estimate.s_ref) ** k
    pred, _ = _model(estimate.params, z[~train], s.dow[~train], k, estimate.use_dow)
    actual = s.y[~train]
    ss_tot = float(np.sum((actual - actual.mean()) ** 2))
    r2 = 1.0 - float(np.sum((actual - pred) ** 2)) / ss_tot if ss_tot > 0 else None
    positive = actual > 0
    mape = (
        float(np.mean(np.abs(actual[positive] - pred[positive]) / actual[positive]))
        if positive.any()
        else None
    )
    total_pred, total_actual = float(pred.sum()), float(actual.sum())
    if total_actual <= 0:
        bias = math.inf if total_pred > 0 else 0.0
    else:
        bias = math.log(max(total_pred, 1e-12) / total_actual)

    # Noise of the held-out total: counts (Poisson on conversions) and the day-to-day spread.
    held_conversions = _held_conversions(s, ~train)
    train_pred, _ = _model(estimate.params, z[train], s.dow[train], k, estimate.use_dow)
    relative = (s.y[train] - train_pred) / np.maximum(train_pred, 1e-9)
    day_sd = float(np.std(relative))
    noise = math.sqrt(1.0 / max(held_conversions, 1.0) + day_sd**2 / len(actual))
    poor = None
    if abs(bias) > config.max_holdout_bias and abs(bias) > config.holdout_noise_z * noise:
        direction = "below" if bias > 0 else "above"
        change = (math.exp(-bias) - 1.0) if math.isfinite(bias) else -1.0
        poor = (
            f"the newest {len(actual)} fit days came in {abs(change):.0%} {direction} the curve fitted "
            "on the days before (beyond noise): behaviour changed recently; held at current spend"
        )
    return _Holdout(r2, mape, bias if math.isfinite(bias) else None, len(actual), poor)


def _held_conversions(s: _Series, mask: np.ndarray) -> float:
    # Conversions per day are not kept on the series; the value goal scales them by share of y.
    share = float(s.y[mask].sum() / s.y.sum()) if s.y.sum() > 0 else 0.0
    return s.conversions * share


def _weekly(estimate: _Estimate) -> tuple[float, ...]:
    if not estimate.use_dow:
        return (1.0,) * 7
    logs = np.append(estimate.params[2:8], -estimate.params[2:8].sum())
    return tuple(float(v) for v in np.exp(logs))


def _curve_from(
    s: _Series,
    goal: Goal,
    config: CurveConfig,
    prior: tuple[float, float],
    estimate: _Estimate,
    holdout: _Holdout,
    own: _Estimate,
) -> CurveFit:
    k = config.hill_slope
    m_ref, e = math.exp(estimate.params[0]), float(estimate.params[1])
    q = e / k
    h = estimate.s_ref * (q / (1.0 - q)) ** (1.0 / k)
    weekly = _weekly(estimate)
    adjusted = s.y / np.asarray(weekly)[s.dow]
    status, reason = FitStatus.OK, None
    if holdout.poor_reason is not None:
        status, reason = FitStatus.POOR_FIT, holdout.poor_reason
    return CurveFit(
        platform=s.key[0],
        account_id=s.key[1],
        campaign_id=s.key[2],
        campaign_name=s.name,
        goal=goal,
        status=status,
        reason=reason,
        vmax=m_ref / (1.0 - q),
        half_saturation=h,
        hill_slope=k,
        adstock_decay=config.adstock_decay,
        current_spend=s.current_spend,
        reference_spend=estimate.s_ref,
        observed_return=float(s.y.sum() / s.spend.sum()),
        spend_range=(float(np.percentile(s.spend, 5)), float(np.percentile(s.spend, 95))),
        days=len(s.y),
        conversions=s.conversions,
        elasticity=e,
        elasticity_se=estimate.elasticity_se,
        r2_holdout=holdout.r2,
        mape_holdout=holdout.mape,
        holdout_bias=holdout.bias,
        holdout_days=holdout.days,
        weekly_factors=weekly,
        currency=s.currency,
        prior=prior,
        points=_points(s.spend, adjusted, config.keep_points),
        elasticity_data=float(own.params[1]),
        elasticity_data_se=own.elasticity_se,
        level_se=estimate.level_se,
        log_spend_sd=float(np.std(np.log(np.maximum(s.x, 1e-9)))),
    )


def _fallback(
    s: _Series,
    goal: Goal,
    config: CurveConfig,
    prior: tuple[float, float],
    status: FitStatus,
    reason: str,
) -> CurveFit:
    """A conservative curve through the observed average return at the observed mean spend, with
    the prior curvature. It only values the campaign where it is held; it never moves money."""
    k = config.hill_slope
    spend_total = float(s.spend.sum())
    ret = float(s.y.sum() / spend_total) if spend_total > 0 else 0.0
    s_ref = float(np.mean(s.spend)) if len(s.spend) else s.current_spend
    q = prior[0] / k
    if s_ref > 0 and ret > 0:
        h = s_ref * (q / (1.0 - q)) ** (1.0 / k)
        vmax = ret * s_ref / (1.0 - q)
    else:
        h, vmax = max(s_ref, 1.0), 0.0
    return CurveFit(
        platform=s.key[0],
        account_id=s.key[1],
        campaign_id=s.key[2],
        campaign_name=s.name,
        goal=goal,
        status=status,
        reason=reason,
        vmax=vmax,
        half_saturation=h,
        hill_slope=k,
        adstock_decay=config.adstock_decay,
        current_spend=0.0 if status is FitStatus.INACTIVE else s.current_spend,
        reference_spend=s_ref,
        observed_return=ret,
        spend_range=(
            (float(np.percentile(s.spend, 5)), float(np.percentile(s.spend, 95)))
            if len(s.spend)
            else (0.0, 0.0)
        ),
        days=len(s.y),
        conversions=s.conversions,
        elasticity=prior[0] if vmax > 0 else 0.0,
        elasticity_se=None,
        r2_holdout=None,
        mape_holdout=None,
        holdout_bias=None,
        holdout_days=0,
        weekly_factors=(1.0,) * 7,
        currency=s.currency,
        prior=prior,
        points=_points(s.spend, s.y, config.keep_points),
    )


def _points(spend: np.ndarray, outcome: np.ndarray, keep: int) -> tuple[tuple[float, float], ...]:
    if keep <= 0:
        return ()
    return tuple(
        (round(float(a), 2), round(float(b), 2)) for a, b in zip(spend[-keep:], outcome[-keep:], strict=True)
    )


__all__ = [
    "KEY_COLUMNS",
    "REQUIRED_COLUMNS",
    "CampaignKey",
    "CurveConfig",
    "CurveFit",
    "FitStatus",
    "Goal",
    "fit_response_curves",
]
