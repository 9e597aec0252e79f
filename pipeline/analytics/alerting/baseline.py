"""Seasonal, robust baselines for rate metrics, vectorised over entities.

A rate metric is a numerator per unit of a denominator: conversion value per spend (ROAS),
conversions per spend (1 / CPA), clicks per impression (CTR). For every entity (row) the baseline
period gives

* a rate per weekday: the same weekday's ratio of sums, shrunk towards the all-days ratio as far
  as the weekdays' spread is explainable by noise (empirical Bayes), after leaving out outlier
  days;
* the noise of one day: 1.4826 x the median absolute deviation of the days' relative residuals
  around that fit (a robust standard deviation: one broken day does not inflate it).

The expected value of a scored day is its weekday rate x its denominator x its maturity; a window
is compared with the sum of those expectations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class RateBaseline:
    """Per-entity baseline of one rate metric (arrays over entities, first axis)."""

    weekday_rate: np.ndarray  # (n, 7) final (mature) numerator per unit of denominator
    rate: np.ndarray  # (n,) all-days rate
    day_noise: np.ndarray  # (n,) robust relative standard deviation of one day (nan: unknown)
    weekday_variance: np.ndarray  # (n, 7) variance of the weekday rate, in units of day_noise^2
    days_used: np.ndarray  # (n,) baseline days in the fit (after outliers)
    numerator: np.ndarray  # (n,) mature-equivalent numerator over the days used
    reported_numerator: np.ndarray  # (n,) as reported, over the days used
    denominator: np.ndarray  # (n,)
    counts: np.ndarray  # (n,) reported counts (conversions / clicks) over the days used
    outliers: np.ndarray  # (n, days) bool: days left out of the fit
    # (n, 4): robust relative sd of the sum of 1..4 consecutive days around the fit (nan: unknown);
    # overdispersed, drifting rates scatter more over a window than independent days would.
    window_noise: np.ndarray | None = None

    def expected(self, weekdays: np.ndarray, denominator: np.ndarray, maturity: np.ndarray) -> np.ndarray:
        """Expected reported numerator for days (columns) with these weekdays and denominators."""
        return self.weekday_rate[:, weekdays] * denominator * maturity


def fit_rate(
    numerator: np.ndarray,
    denominator: np.ndarray,
    counts: np.ndarray,
    valid: np.ndarray,
    weekdays: np.ndarray,
    maturity: np.ndarray,
    *,
    same_weekday: bool,
    outlier_z: float,
    max_outlier_share: float,
) -> RateBaseline:
    """Fit the baseline of ``numerator / denominator`` on the baseline days (columns).

    ``counts`` are the event counts behind the numerator (conversions for value), for the
    Poisson part of the noise. ``maturity`` scales reported numerators to final ones.
    """
    adjusted = numerator / maturity
    counts_adjusted = counts / maturity
    use = valid & (denominator > 0)

    weekday_rate, rate, variance = _rates(adjusted, denominator, counts_adjusted, use, weekdays, same_weekday)
    residual = _residuals(adjusted, denominator, use, weekday_rate, weekdays)
    day_noise = _robust_sd(residual)

    # Outliers: far from the fit in units of the larger of the robust noise and Poisson noise.
    count_per_unit = _safe_divide((counts_adjusted * use).sum(axis=1), (adjusted * use).sum(axis=1))
    expected_counts = weekday_rate[:, weekdays] * denominator * count_per_unit[:, None]
    poisson = 1.0 / np.sqrt(np.maximum(expected_counts, 1.0))
    scale = np.maximum(np.nan_to_num(day_noise, nan=0.0)[:, None], poisson)
    score = np.where(use, np.abs(np.nan_to_num(residual, nan=0.0)) / scale, 0.0)
    outliers = score > outlier_z
    limit = np.floor(max_outlier_share * use.sum(axis=1)).astype(int)
    if outliers.any():
        # Keep only the `limit` most extreme outliers per entity: a shift that covers much of the
        # baseline is the new normal, not an outlier.
        rank = np.argsort(np.argsort(-score, axis=1, kind="stable"), axis=1, kind="stable")
        outliers &= rank < limit[:, None]
        use = use & ~outliers
        weekday_rate, rate, variance = _rates(
            adjusted, denominator, counts_adjusted, use, weekdays, same_weekday
        )

    return RateBaseline(
        window_noise=_window_noise(adjusted, denominator, use, weekday_rate, weekdays),
        weekday_rate=weekday_rate,
        rate=rate,
        day_noise=day_noise,
        weekday_variance=variance,
        days_used=use.sum(axis=1),
        numerator=(adjusted * use).sum(axis=1),
        reported_numerator=(numerator * use).sum(axis=1),
        denominator=(denominator * use).sum(axis=1),
        counts=(counts * use).sum(axis=1),
        outliers=outliers,
    )


def _rates(
    numerator: np.ndarray,
    denominator: np.ndarray,
    counts: np.ndarray,
    use: np.ndarray,
    weekdays: np.ndarray,
    same_weekday: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All-days rate, weekday rates and their variance (in units of one day's variance).

    Weekday rates are shrunk towards the all-days rate by empirical Bayes: a weekday's index
    (its rate / the all-days rate) keeps the share of its deviation that the spread of the indices
    across weekdays says is real rather than noise. A strong weekend pattern is kept whole; seven
    indices that differ no more than noise predicts collapse to the all-days rate.
    """
    n = numerator.shape[0]
    num = np.where(use, numerator, 0.0)
    den = np.where(use, denominator, 0.0)
    days = use.sum(axis=1).astype(float)
    rate = _safe_divide(num.sum(axis=1), den.sum(axis=1))
    weekday_rate = np.repeat(rate[:, None], 7, axis=1)
    overall_variance = _safe_divide(np.ones(n), days, fill=np.inf)
    variance = np.repeat(overall_variance[:, None], 7, axis=1)
    if not same_weekday:
        return weekday_rate, rate, variance

    columns = [weekdays == k for k in range(7)]
    n_k = np.stack([use[:, c].sum(axis=1) for c in columns], axis=1).astype(float)
    raw = _safe_divide(
        np.stack([num[:, c].sum(axis=1) for c in columns], axis=1),
        np.stack([den[:, c].sum(axis=1) for c in columns], axis=1),
        fill=np.nan,
    )
    # Noise of one day: robust scatter around the unshrunk weekday fit, at least Poisson's.
    scatter = _robust_sd(_residuals(numerator, denominator, use, np.nan_to_num(raw), weekdays))
    counts_per_day = _safe_divide(np.where(use, counts, 0.0).sum(axis=1), days)
    day_variance = np.fmax(
        np.nan_to_num(scatter, nan=0.0) ** 2, _safe_divide(np.ones(n), counts_per_day, fill=np.inf)
    )
    index = _safe_divide(raw, rate[:, None], fill=np.nan)
    seen = np.isfinite(index) & (n_k > 0)
    noise_k = _safe_divide(day_variance[:, None] * np.ones((1, 7)), n_k, fill=np.inf)
    # Spread of the weekday indices, and the part of it noise alone would produce.
    seen_count = seen.sum(axis=1)
    safe_index = np.where(seen, index, 0.0)
    mean_index = _safe_divide(safe_index.sum(axis=1), seen_count)
    spread = _safe_divide(
        (np.where(seen, safe_index - mean_index[:, None], 0.0) ** 2).sum(axis=1), seen_count - 1
    )
    typical_noise = _safe_divide(np.where(seen, noise_k, 0.0).sum(axis=1), seen_count)
    signal = np.fmax(spread - typical_noise, 0.0)
    weight = np.where(seen, _safe_divide(signal[:, None] * np.ones((1, 7)), signal[:, None] + noise_k), 0.0)
    weekday_rate = rate[:, None] * (1.0 + weight * (np.nan_to_num(index, nan=1.0) - 1.0))
    variance = _safe_divide(weight**2, n_k, fill=0.0) + (1.0 - weight) ** 2 * overall_variance[:, None]
    return weekday_rate, rate, variance


def _residuals(
    numerator: np.ndarray,
    denominator: np.ndarray,
    use: np.ndarray,
    weekday_rate: np.ndarray,
    weekdays: np.ndarray,
) -> np.ndarray:
    expected = weekday_rate[:, weekdays] * denominator
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = numerator / expected - 1.0
    return np.where(use & (expected > 0), residual, np.nan)


WINDOW_NOISE_DAYS = 4


def _window_noise(
    numerator: np.ndarray, denominator: np.ndarray, use: np.ndarray, weekday_rate: np.ndarray,
    weekdays: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Per entity and window length L (1..4): the robust sd of (sum of L consecutive days'
    numerators) / (their expected sum) - 1 over the baseline, only windows of days all in the fit.
    A day-to-day scatter scaled to L days assumes independent days; this measures the window."""
    expected = np.where(use, weekday_rate[:, weekdays] * denominator, 0.0)
    observed = np.where(use, numerator, 0.0)
    valid = use.astype(float)
    out = np.full((numerator.shape[0], WINDOW_NOISE_DAYS), np.nan)
    for length in range(1, WINDOW_NOISE_DAYS + 1):
        if length > numerator.shape[1]:
            break
        sums = [_rolling_sum(array, length) for array in (observed, expected, valid)]
        with np.errstate(divide="ignore", invalid="ignore"):
            residual = np.where((sums[2] == length) & (sums[1] > 0), sums[0] / sums[1] - 1.0, np.nan)
        out[:, length - 1] = _robust_sd(residual)
    return out


def _rolling_sum(values: np.ndarray, length: int) -> np.ndarray:
    """Sums of ``length`` consecutive columns, per row."""
    total = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    return total[:, length:] - total[:, :-length]


def _robust_sd(values: np.ndarray) -> np.ndarray:
    """1.4826 x MAD per row, ignoring nans; nan for rows with fewer than 3 values."""
    out = np.full(values.shape[0], np.nan)
    enough = np.isfinite(values).sum(axis=1) >= 3
    if enough.any():
        rows = values[enough]
        median = np.nanmedian(rows, axis=1)
        out[enough] = MAD_TO_SD * np.nanmedian(np.abs(rows - median[:, None]), axis=1)
    return out


def _safe_divide(a: np.ndarray, b: np.ndarray, fill: float = 0.0) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, fill, dtype=float)
    np.divide(a, b, out=out, where=b > 0)
    return out
