"""Scenario family "funnel" (HELD OUT: written first and frozen; never tune the detector on it).

Generative assumptions, deliberately unlike the sandbox's:

- Demand-led funnel: impressions = demand (log AR(1) drift, weekly shape per account: weekend
  peak, B2B weekend trough, Friday peak or flat) x lognormal day noise; clicks Poisson on a CTR
  that random-walks; CPC lognormal per day; spend = clicks x CPC, capped by the daily budget for
  budget-limited campaigns (they lose clicks, not money, when CPC rises).
- Conversions negative binomial (overdispersed) on clicks x a conversion rate that drifts (log
  AR(1)) and has its own weekday shape; value = a sum of lognormal order values (heavy tail,
  per-campaign sigma 0.5-1.0).
- Campaign sizes log-uniform from ~20 to ~6,000 clicks a day; two reporting-lag curves (a fast
  and a slow platform), jittered per campaign-day.
- Incidents, step or gradual (linear over three days), partial: conversion-rate drops (-35 to
  -80 %), order-value drops with conversions unchanged (x0.5, x0.3), CPC spikes (x1.6, x2.5),
  CTR drops (x0.4), tracking breaks (all conversions lost, also on small campaigns), overspend
  (budget ignored, x2.5) and under-delivery (impressions x0.3).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.bench.alerts import InjectedIncident
from pipeline.bench.families.common import (
    FamilyWorld,
    apply_factor,
    place_incident,
    ramp,
    split_lags,
)

NAME = "funnel"
HELD_OUT = True
COMPATIBLE: dict[str, frozenset[str]] = {
    "tracking_break": frozenset({"ZERO_CONVERSIONS", "ROAS_DROP", "CPA_SPIKE", "CONVERSIONS_DROP"}),
    "cvr_drop": frozenset({"ROAS_DROP", "CPA_SPIKE", "ZERO_CONVERSIONS", "CONVERSIONS_DROP"}),
    "value_drop": frozenset({"ROAS_DROP"}),
    "cpc_spike": frozenset({"CPC_SPIKE", "CPA_SPIKE", "ROAS_DROP", "CONVERSIONS_DROP"}),
    "ctr_drop": frozenset({"CTR_DROP", "SPEND_PACING", "CONVERSIONS_DROP"}),
    "overspend": frozenset({"SPEND_PACING", "ROAS_DROP", "CPA_SPIKE"}),
    "underdelivery": frozenset({"SPEND_PACING", "CONVERSIONS_DROP"}),
}
# (kind, factor, label, gradual)
INCIDENT_SIZES: tuple[tuple[str, float, str, bool], ...] = (
    ("tracking_break", 0.0, "no conversions", False),
    ("tracking_break", 0.0, "no conversions, small", False),
    ("cvr_drop", 0.2, "-80%", False),
    ("cvr_drop", 0.5, "-50% gradual", True),
    ("cvr_drop", 0.5, "-50%", False),
    ("cvr_drop", 0.65, "-35%", False),
    ("value_drop", 0.5, "x0.5", False),
    ("value_drop", 0.3, "x0.3 gradual", True),
    ("cpc_spike", 2.5, "x2.5", False),
    ("cpc_spike", 1.6, "x1.6 gradual", True),
    ("ctr_drop", 0.4, "x0.4", False),
    ("overspend", 2.5, "x2.5", False),
    ("underdelivery", 0.3, "x0.3", False),
)
PLATFORMS = ("fastads", "slowads")
LAG_CURVES = {
    "fastads": np.array([0.88, 0.06, 0.03, 0.015, 0.01, 0.005]),
    "slowads": np.array([0.74, 0.11, 0.06, 0.04, 0.03, 0.02]),
}
WEEKLY_SHAPES = {
    "weekend_peak": np.array([0.9, 0.9, 0.95, 1.0, 1.05, 1.3, 1.25]),
    "b2b": np.array([1.15, 1.2, 1.2, 1.15, 1.0, 0.55, 0.5]),
    "friday_peak": np.array([0.95, 0.95, 1.0, 1.05, 1.35, 1.0, 0.85]),
    "flat": np.ones(7),
}


def generate(seed: int, end: date, period_days: int, history_days: int, campaigns_per_account: int,
             accounts_per_platform: int, max_delay: int, incident_days: tuple[int, int]) -> FamilyWorld:  # fmt: skip
    rng = np.random.default_rng(10_000 + seed * 31)
    total_days = period_days + history_days
    days = [end - timedelta(days=total_days - 1 - i) for i in range(total_days)]
    weekdays = np.array([d.weekday() for d in days])
    rows = []
    for platform in PLATFORMS:
        for a in range(accounts_per_platform):
            shape = list(WEEKLY_SHAPES)[int(rng.integers(0, len(WEEKLY_SHAPES)))]
            for c in range(campaigns_per_account):
                rows.append((platform, f"{platform[:4]}-acc{a}", f"{platform[:4]}-{a}-c{c:02d}", shape))
    n = len(rows)
    entities = pd.DataFrame(rows, columns=["platform", "account_id", "campaign_id", "weekly_shape"])
    entities["campaign_name"] = [f"Funnel {cid}" for cid in entities["campaign_id"]]
    entities["currency"] = "EUR"
    shapes = np.stack([WEEKLY_SHAPES[s][weekdays] for s in entities["weekly_shape"]])

    clicks_target = np.exp(rng.uniform(np.log(20), np.log(6000), n))
    ctr_base = np.exp(rng.normal(np.log(0.015), 0.5, n))
    cpc_base = np.exp(rng.normal(np.log(0.8), 0.4, n))
    cvr_base = np.exp(rng.normal(np.log(0.03), 0.5, n)).clip(0.003, 0.2)
    aov_median = np.exp(rng.normal(np.log(50), 0.6, n))
    aov_sigma = rng.uniform(0.5, 1.0, n)
    dispersion = rng.uniform(15, 60, n)  # negative binomial shape: extra relative variance 1/shape

    demand = (
        clicks_target[:, None] / ctr_base[:, None] * shapes * np.exp(_ar1(rng, n, total_days, 0.97, 0.025))
    )
    impressions_mean = demand * np.exp(rng.normal(0, 0.12, (n, total_days)))
    ctr = ctr_base[:, None] * np.exp(np.cumsum(rng.normal(0, 0.008, (n, total_days)), axis=1))
    cpc = cpc_base[:, None] * np.exp(rng.normal(0, 0.1, (n, total_days)))
    cvr_shape = np.where(
        entities["weekly_shape"].to_numpy()[:, None] == "b2b", 1.0 + 0.1 * (weekdays < 5), 1.0
    )
    cvr = cvr_base[:, None] * cvr_shape * np.exp(_ar1(rng, n, total_days, 0.95, 0.02))
    aov_factor = np.ones((n, total_days))
    typical_spend = clicks_target * cpc_base
    capped = rng.random(n) < 0.35
    budget = np.round(np.where(capped, typical_spend * rng.uniform(0.6, 0.85, n),
                               typical_spend * rng.uniform(1.3, 1.8, n)), 0).clip(5, None)  # fmt: skip
    entities["daily_budget"] = budget
    ignore_budget = np.zeros((n, total_days), dtype=bool)

    period_start = end - timedelta(days=period_days - 1)
    volumes = (clicks_target * cvr_base, typical_spend, clicks_target)
    incidents = _plan_incidents(rng, seed, entities, volumes, period_start, end, max_delay, incident_days)
    zero = np.zeros((n, total_days), dtype=bool)
    for incident in incidents:
        row = int(np.flatnonzero(entities["campaign_id"] == incident.campaign_id)[0])
        column = (incident.start - days[0]).days
        length = (incident.end - incident.start).days + 1
        kind, factor, gradual = _by_label[(incident.kind, incident.size)]
        shape = ramp(length, length, gradual)
        if kind == "tracking_break":
            zero[row, column : column + length] = True
        elif kind == "cvr_drop":
            apply_factor(cvr[row], column, length, factor, shape)
        elif kind == "value_drop":
            apply_factor(aov_factor[row], column, length, factor, shape)
        elif kind == "cpc_spike":
            apply_factor(cpc[row], column, length, factor, shape)
        elif kind == "ctr_drop":
            apply_factor(ctr[row], column, length, factor, shape)
        elif kind == "overspend":
            ignore_budget[row, column : column + length] = True
            apply_factor(impressions_mean[row], column, length, factor, shape)
        elif kind == "underdelivery":
            apply_factor(impressions_mean[row], column, length, factor, shape)

    impressions = rng.poisson(impressions_mean).astype(float)
    clicks = rng.binomial(impressions.astype(np.int64), np.clip(ctr, 0, 1)).astype(float)
    spend = clicks * cpc
    over = (spend > budget[:, None]) & ~ignore_budget
    # Budget-limited days: delivery stops once the budget is (nearly) spent.
    scale = np.where(
        over, budget[:, None] * rng.uniform(0.93, 1.0, (n, total_days)) / np.maximum(spend, 1e-9), 1.0
    )
    clicks = np.floor(clicks * scale)
    impressions = np.floor(impressions * scale)
    spend = np.round(clicks * cpc, 2)
    mean_conversions = clicks * cvr
    conversions = rng.negative_binomial(
        dispersion[:, None], dispersion[:, None] / (dispersion[:, None] + mean_conversions)
    ).astype(float)
    conversions[zero] = 0.0
    value = _order_values(rng, conversions, aov_median, aov_sigma) * aov_factor
    lag_shares = np.concatenate(
        [
            split_lags(rng, (int((entities["platform"] == p).sum()), total_days), LAG_CURVES[p], 40.0)
            for p in PLATFORMS
        ]
    )
    return FamilyWorld(NAME, seed, days, entities.drop(columns="weekly_shape"), spend, impressions, clicks,
                       conversions, value, lag_shares, incidents)  # fmt: skip


_by_label = {(kind, label): (kind, factor, gradual) for kind, factor, label, gradual in INCIDENT_SIZES}


def _ar1(rng: np.random.Generator, n: int, days: int, phi: float, sd: float) -> np.ndarray:
    out = np.zeros((n, days))
    shocks = rng.normal(0, sd, (n, days))
    for j in range(1, days):
        out[:, j] = phi * out[:, j - 1] + shocks[:, j]
    return out


def _order_values(
    rng: np.random.Generator, conversions: np.ndarray, median: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """The sum of each campaign-day's lognormal order values."""
    counts = conversions.astype(np.int64).ravel()
    rows = np.repeat(np.arange(conversions.shape[0]), conversions.shape[1])
    order_rows = np.repeat(rows, counts)
    draws = np.exp(rng.normal(np.log(median[order_rows]), sigma[order_rows]))
    cell = np.repeat(np.arange(counts.size), counts)
    return np.bincount(cell, weights=draws, minlength=counts.size).reshape(conversions.shape)


def _plan_incidents(rng: np.random.Generator, seed: int, entities: pd.DataFrame,
                    volumes: tuple[np.ndarray, np.ndarray, np.ndarray], period_start: date, end: date,
                    max_delay: int, incident_days: tuple[int, int]) -> list[InjectedIncident]:  # fmt: skip
    conversions, spend, clicks = volumes
    order = rng.permutation(len(entities))
    used: set[int] = set()
    incidents = []
    for kind, _factor, label, _gradual in INCIDENT_SIZES:
        for _ in range(2):
            if kind == "tracking_break" and "small" in label:
                fits = (conversions >= 1.5) & (conversions < 4) & (spend >= 20)
            elif kind in ("overspend", "underdelivery", "ctr_drop"):
                fits = (spend >= 50) & (clicks >= 100)
            else:
                fits = (conversions >= 4) & (spend >= 50)
            incident = place_incident(rng, seed, kind, label, entities, fits, order, used, (conversions, spend),
                                      period_start, end, max_delay, incident_days)  # fmt: skip
            if incident is not None:
                incidents.append(incident)
    return incidents
