"""The value-per-conversion path of ROAS_DROP: value per conversion judged on its own noise.

A broken value parameter, a currency mix-up or a price change halves the value per conversion
while conversions stay normal. Judged as a shortfall of conversion *counts* (the ROAS test), such a
drop on a campaign with 10 conversions a day looks like 10 -> 5: within Poisson noise. But the
value per conversion has its own, usually much smaller, noise: the mean of N order values varies
with their coefficient of variation / sqrt(N). Per campaign, from the baseline days:

* the usual value per conversion (value / conversions over the baseline days);
* the order values' squared coefficient of variation, robustly: each day's log ratio of its value
  per conversion to the usual one, squared and scaled by the day's conversions, has median
  0.455 x cv^2 (a chi-square with one degree of freedom), so one huge order does not inflate it;
* the typical log ratio of a day (order values are skewed: a day's mean is usually below the
  long-run mean), carried to the window in proportion to its conversions.

The window's log ratio is tested against that noise (window and baseline conversions), with the
same Student's t widening as the other rate tests; the ROAS must also be down by ``roas_min_drop``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from pipeline.analytics.alerting.context import Context
from pipeline.analytics.alerting.model import EntityLevel

CHI2_1_MEDIAN = 0.4549
MIN_DAYS = 7
MAD_EFFICIENCY = 0.37


class ValueBaseline:
    """Per campaign: usual value per conversion, the order values' cv^2, the typical daily skew."""

    def __init__(self, context: Context) -> None:
        panel = context.panel
        base = panel.baseline
        value, conversions = panel.value[:, base], panel.conversions[:, base]
        usable = panel.has_row[:, base] & (conversions >= 1) & (value > 0)
        self.value = np.where(usable, value, 0.0).sum(axis=1)
        self.conversions = np.where(usable, conversions, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            usual = self.value / self.conversions
            ratio = np.where(usable, np.log(value / conversions / usual[:, None]), np.nan)
        self.days = usable.sum(axis=1)
        enough = self.days >= MIN_DAYS
        self.cv2 = np.full(panel.size, np.nan)
        self.center = np.zeros(panel.size)
        self.typical_count = np.ones(panel.size)
        if enough.any():
            rows = ratio[enough]
            counts = np.where(usable[enough], conversions[enough], np.nan)
            self.cv2[enough] = np.nanmedian(rows**2 * counts, axis=1) / CHI2_1_MEDIAN
            self.center[enough] = np.nanmedian(rows, axis=1)
            self.typical_count[enough] = np.nanmedian(counts, axis=1)
        self.ok = enough & np.isfinite(self.cv2) & (self.cv2 > 0)


def value_per_conversion_test(
    context: Context, baseline: ValueBaseline, stats: dict[str, np.ndarray], level: EntityLevel, z: float
) -> dict[str, np.ndarray]:
    """Per group of the level: observed and usual value per conversion, z-score, shortfall."""
    codes, keys = context.groups[level]
    use = stats["ok"] & (codes >= 0) & baseline.ok & (stats["observed_counts"] >= 1)
    fx = context.fx if level == EntityLevel.PLATFORM else np.ones(context.panel.size)

    def pooled(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes[use], weights=values[use], minlength=len(keys))

    observed_value, observed_counts = pooled(stats["observed"] * fx), pooled(stats["observed_counts"])
    usual_value, usual_counts = pooled(baseline.value * fx), pooled(baseline.conversions)
    # Conversion-weighted cv^2 and skew of the campaigns pooled; the skew shrinks as 1 / N.
    cv2 = pooled(np.nan_to_num(baseline.cv2) * stats["observed_counts"])
    center = pooled(baseline.center * baseline.typical_count)
    days = np.zeros(len(keys))
    np.maximum.at(days, codes[use], baseline.days[use].astype(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        cv2 = cv2 / observed_counts
        usual = usual_value / usual_counts
        observed = observed_value / observed_counts
        log_ratio = np.log(np.maximum(observed, 1e-6 * usual) / usual)  # no value at all: a total loss
        expected_log_ratio = center / observed_counts
        alpha = float(scipy_stats.norm.sf(z))
        df = np.maximum(MAD_EFFICIENCY * days, 3.0)
        inflation = scipy_stats.t.isf(alpha, df) / z
        sd = np.sqrt(cv2 / observed_counts + cv2 / usual_counts) * inflation
        score = (expected_log_ratio - log_ratio) / sd
    eligible = (observed_counts >= 1) & (usual_counts > 0) & np.isfinite(score) & (observed_value >= 0)
    return {
        "observed_conversions": observed_counts,
        "value_per_conversion": np.where(eligible, observed, np.nan),
        "usual_value_per_conversion": np.where(eligible, usual, np.nan),
        "value_per_conversion_shortfall": np.where(eligible, 1.0 - observed / usual, 0.0),
        "value_per_conversion_z": np.where(eligible, score, -np.inf),
        "value_per_conversion_sd": np.where(eligible, sd, np.nan),
    }
