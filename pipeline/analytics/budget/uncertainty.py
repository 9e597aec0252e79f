"""Posterior draws of the response curves and the allocation's interval of expected value (pure).

A fitted curve is anchored by its level ``m`` (outcome at the reference spend, well measured) and
its elasticity ``e`` there (its curvature, poorly measured when spend hardly moved). Draws take
``e`` jointly from the hierarchical pool of the run's campaigns (:mod:`.pooling`: the spread between
campaigns integrated out) and ``log m`` from a normal with the fit's standard error, and rebuild the
Hill curve through them. Valuing one split of the budget under every draw gives its interval of
expected outcome; valuing the current split under the same draws gives the interval of the uplift
(paired, so the shared uncertainty cancels).

Each level also gets the curves' *model discrepancy* (:func:`model_discrepancy`: how far the
curves missed their held-out days), so the interval is not only parametric noise. Curves that are
not trusted (held, inactive) keep their single curve: their spend does not move, so they add to
both splits alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.analytics.budget.curves import CampaignKey, CurveFit
from pipeline.analytics.budget.pooling import ElasticityPool, pool_elasticities


def curve_pool(curves: Mapping[CampaignKey, CurveFit]) -> ElasticityPool:
    """The elasticity pool of the trusted curves, from each one's own (flat-prior) estimate."""
    trusted = [c for c in curves.values() if c.trusted and c.elasticity_data is not None]
    k = trusted[0].hill_slope if trusted else 1.0
    return pool_elasticities(
        {c.key: (float(c.elasticity_data), c.elasticity_data_se) for c in trusted},  # type: ignore[arg-type]
        lower=0.005 * k,
        upper=0.995 * k,
    )


def hill_from_anchor(level: Any, elasticity: Any, reference: float, k: float) -> tuple[Any, Any]:
    """(vmax, half_saturation) of the Hill curve through ``level`` at ``reference`` with ``elasticity`` there."""
    q = np.asarray(elasticity, dtype=np.float64) / k
    half = reference * (q / (1.0 - q)) ** (1.0 / k)
    return np.asarray(level) / (1.0 - q), half


def hill_response(spend: Any, vmax: Any, half: Any, k: float) -> Any:
    s = np.maximum(np.asarray(spend, dtype=np.float64), 0.0) ** k
    return vmax * s / (np.asarray(half) ** k + s)


MAX_LEVEL_SE = 0.5  # an ill-conditioned fit's level error is capped (draws stay finite)


def model_discrepancy(curves: Mapping[CampaignKey, CurveFit]) -> float:
    """How far curves miss days they were not fitted on, beyond their own standard error: a robust sd
    (1.4826 x median absolute) of the held-out level errors of the trusted curves. It widens every
    level's draws, so the interval also carries the error of the curve's shape, not only its noise."""
    biases = [abs(c.holdout_bias) for c in curves.values() if c.trusted and c.holdout_bias is not None]
    if len(biases) < 3:
        return 0.0
    return float(1.4826 * np.median(biases))


@dataclass(frozen=True)
class CurveDraws:
    """``n`` posterior draws of every curve: vmax and half-saturation arrays (n x campaigns)."""

    keys: tuple[CampaignKey, ...]
    vmax: np.ndarray
    half: np.ndarray
    k: np.ndarray  # per campaign

    def outcome(self, daily: Mapping[CampaignKey, float]) -> np.ndarray:
        """Total daily outcome of a split under each draw (n,)."""
        spend = np.array([daily.get(key, 0.0) for key in self.keys])
        return np.sum(self._general(spend), axis=1)

    def _general(self, spend: np.ndarray) -> np.ndarray:
        s = np.maximum(spend, 0.0)[None, :] ** self.k[None, :]
        return self.vmax * s / (self.half ** self.k[None, :] + s)


def curve_draws(
    curves: Mapping[CampaignKey, CurveFit], n: int = 400, seed: int = 0, pool: ElasticityPool | None = None
) -> CurveDraws:
    """Joint posterior draws of all curves (see the module docstring)."""
    rng = np.random.default_rng(seed)
    pool = pool if pool is not None else curve_pool(curves)
    thetas = pool.draws(n, rng)
    discrepancy = model_discrepancy(curves)
    column = {key: i for i, key in enumerate(pool.keys)}
    keys = tuple(curves)
    vmax = np.empty((n, len(keys)))
    half = np.empty((n, len(keys)))
    for j, key in enumerate(keys):
        c = curves[key]
        if key in column and c.reference_spend > 0 and c.vmax > 0:
            level = float(c.response(c.reference_spend))
            spread = math.sqrt(min(c.level_se or 0.0, MAX_LEVEL_SE) ** 2 + discrepancy**2)
            noise = rng.standard_normal(n) * spread
            vmax[:, j], half[:, j] = hill_from_anchor(
                level * np.exp(noise), thetas[:, column[key]], c.reference_spend, c.hill_slope
            )
        else:
            vmax[:, j], half[:, j] = c.vmax, max(c.half_saturation, 1e-9)
    return CurveDraws(keys, vmax, half, np.array([curves[key].hill_slope for key in keys]))


@dataclass(frozen=True)
class AllocationInterval:
    """The allocation's expected outcome over its period, with its posterior interval."""

    level: float  # e.g. 0.9 for a 5 %..95 % interval
    draws: int
    expected: float  # on the fitted curves (the point the allocation reports)
    posterior_mean: float
    low: float
    high: float
    uplift_low: float  # vs the current split, same draws
    uplift_high: float
    uplift_mean: float
    probability_uplift_positive: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "draws": self.draws,
            "expected": round(self.expected, 2),
            "posterior_mean": round(self.posterior_mean, 2),
            "low": round(self.low, 2),
            "high": round(self.high, 2),
            "uplift_mean": round(self.uplift_mean, 2),
            "uplift_low": round(self.uplift_low, 2),
            "uplift_high": round(self.uplift_high, 2),
            "probability_uplift_positive": round(self.probability_uplift_positive, 4),
        }


def allocation_interval(
    curves: Mapping[CampaignKey, CurveFit],
    proposed_daily: Mapping[CampaignKey, float],
    current_daily: Mapping[CampaignKey, float],
    *,
    period_days: int,
    level: float = 0.9,
    n: int = 400,
    seed: int = 0,
    draws: CurveDraws | None = None,
) -> AllocationInterval:
    """Interval of the expected period outcome of ``proposed_daily`` and of its uplift over ``current_daily``."""
    draws = draws if draws is not None else curve_draws(curves, n=n, seed=seed)
    proposed = draws.outcome(proposed_daily) * period_days
    current = draws.outcome(current_daily) * period_days
    uplift = proposed - current
    tail = 100.0 * (1.0 - level) / 2.0
    expected = sum(float(curves[k].response(s)) for k, s in proposed_daily.items() if k in curves)
    return AllocationInterval(
        level=level,
        draws=len(proposed),
        expected=expected * period_days,
        posterior_mean=float(np.mean(proposed)),
        low=float(np.percentile(proposed, tail)),
        high=float(np.percentile(proposed, 100.0 - tail)),
        uplift_low=float(np.percentile(uplift, tail)),
        uplift_high=float(np.percentile(uplift, 100.0 - tail)),
        uplift_mean=float(np.mean(uplift)),
        probability_uplift_positive=float(np.mean(uplift > 0)),
    )


__all__ = [
    "AllocationInterval",
    "CurveDraws",
    "allocation_interval",
    "curve_draws",
    "curve_pool",
    "hill_from_anchor",
    "hill_response",
    "model_discrepancy",
]
