"""Budget allocation: response curves per campaign and an optimiser over them (pure logic).

Typical use (the Dagster asset reads ``marts.fct_campaign_performance_daily`` and stores the result)::

    curves = fit_response_curves(campaign_daily, goal="value", as_of=today)
    allocation = allocate_budget(curves, total_budget, period_days=7, period_start=today)
    comparison = compare_strategies(curves, total_budget, period_days=7, allocation=allocation)
    svg = response_curves_svg(curves, allocation)

See :mod:`.curves` for the model and when a curve is trusted, :mod:`.allocation` for the
optimisation and its reporting, :mod:`.svg` for the picture; :mod:`.pooling` and :mod:`.uncertainty`
for the pooled elasticities, posterior draws and the allocation's interval
(``allocation_interval(curves, allocation.daily, current, period_days=7)``), :mod:`.experiments`
for budget experiments (``assess_experiments(curves, allocation)``). All money in one currency.
"""

from __future__ import annotations

from pipeline.analytics.budget.allocation import (
    Allocation,
    Binding,
    BoundsConfig,
    BudgetInfeasibleError,
    CampaignAllocation,
    PlatformAllocation,
    StrategyComparison,
    StrategyResult,
    Unallocated,
    allocate_budget,
    compare_strategies,
    proportional_split,
)
from pipeline.analytics.budget.curves import (
    CampaignKey,
    CurveConfig,
    CurveFit,
    FitStatus,
    Goal,
    fit_response_curves,
)
from pipeline.analytics.budget.experiments import ExperimentAssessment, ExperimentConfig, assess_experiments
from pipeline.analytics.budget.pooling import ElasticityPool, pool_elasticities
from pipeline.analytics.budget.svg import response_curves_svg, svg_data_uri
from pipeline.analytics.budget.uncertainty import AllocationInterval, allocation_interval, curve_draws

__all__ = [
    "Allocation",
    "AllocationInterval",
    "Binding",
    "BoundsConfig",
    "BudgetInfeasibleError",
    "CampaignAllocation",
    "CampaignKey",
    "CurveConfig",
    "CurveFit",
    "ElasticityPool",
    "ExperimentAssessment",
    "ExperimentConfig",
    "FitStatus",
    "Goal",
    "PlatformAllocation",
    "StrategyComparison",
    "StrategyResult",
    "Unallocated",
    "allocate_budget",
    "allocation_interval",
    "assess_experiments",
    "compare_strategies",
    "curve_draws",
    "fit_response_curves",
    "pool_elasticities",
    "proportional_split",
    "response_curves_svg",
    "svg_data_uri",
]
