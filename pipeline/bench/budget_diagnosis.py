"""Where the experiment loop's gap to the oracle comes from (bench diagnostics, the truth known).

Two decompositions, both exact sums:

- **Curves** (:func:`curve_decomposition`): the captured uplift of an allocation on fitted curves,
  against allocations on the same curves with the *true* elasticity put in at each campaign's
  reference spend (fitted level kept), then with the true level too. ``1 - captured`` splits into
  ``curvature`` (the elasticity estimate), ``level`` (the level estimate, given the true
  elasticity) and ``family`` (a Hill k = 1 curve through the true level and elasticity is still not
  the true curve, and untrusted campaigns stay held). Each term is the loss the next piece of
  knowledge removes; ``family`` ≥ 0 also checks the oracle (same true curves, bounds and total as
  every policy: nothing allocated on near-true curves may beat it).
- **Cycle** (:func:`cycle_decomposition`): ``1 - net`` over ``experiment_days + horizon_days``
  splits into the days run on the T0 curves (``t0_curves``: what the pre-cycle allocation leaves
  on the table while the experiment runs), the experiment's own cost (``experiment``: value lost to
  the variation against the T0 allocation) and the horizon's shortfall, itself split as above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from pipeline.analytics.budget import CurveFit
from pipeline.analytics.budget.uncertainty import hill_from_anchor

Key = tuple[str, str, str]


def true_elasticity(world: Any, key: Key, spend: float) -> float:
    """d log R / d log s of the true curve at ``spend`` (central difference)."""
    step = max(spend * 1e-3, 1e-9)
    low, high = world.true_daily(key, spend - step), world.true_daily(key, spend + step)
    level = world.true_daily(key, spend)
    return (high - low) / (2 * step) * spend / level if level > 0 else 0.0


def _anchored(curve: CurveFit, level: float, elasticity: float) -> CurveFit:
    k = curve.hill_slope
    vmax, half = hill_from_anchor(level, min(max(elasticity, 0.01 * k), 0.99 * k), curve.reference_spend, k)
    return replace(curve, vmax=float(vmax), half_saturation=float(half))


def curve_decomposition(
    world: Any,
    curves: Mapping[Key, CurveFit],
    allocate: Callable[[Mapping[Key, CurveFit]], dict[Key, float]],
    captured: Callable[[dict[Key, float]], float | None],
) -> dict[str, float | None]:
    """Captured uplift on the fitted curves and the losses removed by knowing each curve parameter."""
    truth: dict[Key, tuple[float, float]] = {}
    for key, curve in curves.items():
        if curve.reference_spend > 0:
            truth[key] = (
                world.true_daily(key, curve.reference_spend),
                true_elasticity(world, key, curve.reference_spend),
            )

    def with_truth(level: bool) -> dict[Key, CurveFit]:
        out = dict(curves)
        for key, (true_level, true_e) in truth.items():
            curve = curves[key]
            if curve.trusted:
                fitted_level = float(curve.response(curve.reference_spend))
                out[key] = _anchored(curve, true_level if level else fitted_level, true_e)
        return out

    fitted = captured(allocate(curves))
    known_e = captured(allocate(with_truth(level=False)))
    known_both = captured(allocate(with_truth(level=True)))
    errors_e = [curves[k].elasticity - e for k, (_, e) in truth.items() if curves[k].trusted]
    errors_level = [
        float(np.log(max(float(curves[k].response(curves[k].reference_spend)), 1e-12) / level))
        for k, (level, _) in truth.items()
        if curves[k].trusted and level > 0
    ]
    if None in (fitted, known_e, known_both):
        return {"captured": fitted}
    return {
        "captured": fitted,
        "curvature": known_e - fitted,  # type: ignore[operator]
        "level": known_both - known_e,  # type: ignore[operator]
        "family": 1.0 - known_both,  # type: ignore[operator]
        "elasticity_rmse": float(np.sqrt(np.mean(np.square(errors_e)))) if errors_e else None,
        "elasticity_spread": float(np.std([e for _, e in truth.values()])) if truth else None,
        "log_level_rmse": float(np.sqrt(np.mean(np.square(errors_level)))) if errors_level else None,
    }


def cycle_decomposition(
    *,
    captured_t0: float | None,
    cost_oracle_days: float | None,
    after: Mapping[str, float | None],
    experiment_days: int,
    horizon_days: int,
) -> dict[str, float | None]:
    """``1 - net`` of a cycle as the sum of its parts, in shares of the oracle's gain over the cycle."""
    if captured_t0 is None or cost_oracle_days is None or after.get("captured") is None:
        return {}
    span = experiment_days + horizon_days
    share = horizon_days / span
    out: dict[str, float | None] = {
        "t0_curves": experiment_days * (1.0 - captured_t0) / span,
        "experiment": cost_oracle_days / span,
        "horizon": share * (1.0 - after["captured"]),  # type: ignore[operator]
    }
    for part in ("curvature", "level", "family"):
        value = after.get(part)
        out[f"horizon_{part}"] = None if value is None else share * value
    # The cap of this cycle's shape: perfect curves from T1 on still leave the T0 days.
    out["net_with_perfect_curves_from_t1"] = 1.0 - out["t0_curves"] - out["experiment"]  # type: ignore[operator]
    return out
