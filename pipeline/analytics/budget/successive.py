"""Successive allocation: the allocation itself is the experiment.

A one-shot allocation fits curves on steady budgets, where curvature is unidentified. Applying the
allocation moves each campaign's spend by 30-50 %, far more variation than any experiment the
guardrails allow, so refitting after each step and allocating again learns the curves while
earning. :func:`successive_allocation` is one step of that loop:

- bounds stay relative to the **anchor** spend (each campaign's spend before the cycle began), so
  successive steps cannot drift beyond what one allocation may do;
- :func:`guarded_step` moves from the running split toward the step's target by one common
  fraction, so no campaign changes by more than the guardrail's per-action limit and the total stays
  (the action queue would clamp each campaign on its own and leave the total off);
- with ``sample_seed`` the step allocates on one joint posterior draw of the curves (Thompson
  sampling) instead of their means: campaigns whose curvature is uncertain are moved to where the
  draw says, which is exploration that costs little where the curves agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from pipeline.analytics.budget.allocation import Allocation, BoundsConfig, allocate_budget
from pipeline.analytics.budget.curves import CampaignKey, CurveFit
from pipeline.analytics.budget.pooling import ElasticityPool
from pipeline.analytics.budget.uncertainty import curve_draws


def sampled_curves(
    curves: Mapping[CampaignKey, CurveFit], seed: int, pool: ElasticityPool | None = None
) -> dict[CampaignKey, CurveFit]:
    """One joint posterior draw of every curve (level and elasticity), as curves."""
    draws = curve_draws(curves, n=1, seed=seed, pool=pool)
    out = dict(curves)
    for j, key in enumerate(draws.keys):
        vmax, half = float(draws.vmax[0, j]), float(draws.half[0, j])
        if vmax > 0 and half > 0:
            out[key] = replace(curves[key], vmax=vmax, half_saturation=half)
    return out


def successive_allocation(
    curves: Mapping[CampaignKey, CurveFit],
    total_budget: float,
    *,
    anchor_spend: Mapping[CampaignKey, float],
    bounds: BoundsConfig | None = None,
    period_days: int = 1,
    sample_seed: int | None = None,
) -> Allocation:
    """One step of the loop: allocate on the latest curves within bounds around the anchor spend."""
    chosen = sampled_curves(curves, sample_seed) if sample_seed is not None else curves
    return allocate_budget(
        chosen, total_budget, current_spend=anchor_spend, bounds=bounds, period_days=period_days
    )


def guarded_step(
    previous: Mapping[CampaignKey, float], target: Mapping[CampaignKey, float], max_change: float = 0.30
) -> dict[CampaignKey, float]:
    """Move from ``previous`` toward ``target`` as far as ``max_change`` (relative, per campaign) allows.

    Every campaign moves the same fraction of its way, so a split with the same total as ``previous``
    keeps it; campaigns only in ``target`` take their target.
    """
    fraction = 1.0
    for key, goal in target.items():
        start = previous.get(key)
        if start is not None and start > 0:
            change = abs(goal - start) / start
            if change > max_change:
                fraction = min(fraction, max_change / change)
    return {
        key: (previous[key] + fraction * (goal - previous[key])) if key in previous else goal
        for key, goal in target.items()
    }


def guard_allocation(
    allocation: Allocation, curves: Mapping[CampaignKey, CurveFit], max_change: float
) -> Allocation:
    """The allocation moved only one guarded step from the current spend (:func:`guarded_step`).

    What the allocation asset proposes with ``ADSIGNAL_ALLOCATION_MAX_STEP``: the next runs refit on
    the moved spend and continue (successive allocation), instead of the action queue clamping each
    campaign on its own and leaving the total off.
    """
    current = {c.key: c.current_daily for c in allocation.campaigns}
    stepped = guarded_step(current, allocation.daily, max_change)
    campaigns = []
    for c in allocation.campaigns:
        spend = stepped[c.key]
        curve = curves.get(c.key)
        if curve is None or abs(spend - c.proposed_daily) <= 1e-12:
            campaigns.append(c)
            continue
        campaigns.append(
            replace(
                c,
                proposed_daily=spend,
                expected_proposed=float(curve.response(spend)) * allocation.period_days,
                marginal_return=float(curve.marginal(spend)),
            )
        )
    platforms = tuple(
        replace(
            p,
            proposed=sum(c.proposed_daily for c in campaigns if c.platform == p.platform)
            * allocation.period_days,
            expected_proposed=sum(c.expected_proposed for c in campaigns if c.platform == p.platform),
        )
        for p in allocation.platforms
    )
    return replace(
        allocation,
        campaigns=tuple(campaigns),
        platforms=platforms,
        expected_outcome=sum(c.expected_proposed for c in campaigns),
        notes=(
            *allocation.notes,
            f"moved one step of at most {max_change:.0%} per campaign toward the optimum",
        ),
    )
