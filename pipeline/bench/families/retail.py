"""Scenario family "retail" (HELD OUT: written and measured before any detector change of its round;
never tune the detector on it).

Generative assumptions, deliberately unlike the sandbox's, "compound"'s and "funnel"'s:

- A retail calendar: every account has its own sales and holidays (two to four events of one to
  three days over the history and the period: demand x0.6-1.7, conversion rate x0.85-1.25, order
  value x0.85-1.0 on sale days) that are *not* incidents; a multiplicative day-of-week index per
  campaign (seven lognormal factors, spread 5-35 %), a separate weekday index of the conversion
  rate, and log-linear trends of demand (-40 % .. +40 % over the whole span) and conversion rate
  (-20 % .. +20 %).
- Auction-led delivery: impressions Poisson on demand; CTR beta-distributed per day (beta-binomial
  clicks); CPC lognormal per day and elastic to demand (+0.2 % per % of demand); spend = clicks x
  CPC, capped at the day's budget (x0.95-1.0) for campaigns whose demand exceeds it.
- Budget changes the advertiser made, which are not incidents: a third of the campaigns have their
  daily budget raised or cut once (x0.5, x0.7, x1.4, x2.0), before or during the period; the
  budgets passed to the detector each morning are the ones in force that morning.
- Strongly overdispersed conversions: negative binomial with a per-campaign shape of 4-40 (log
  uniform) on clicks x conversion rate; order values lognormal (sigma 0.4-1.2) with rare whale
  orders (0.3 % of orders x15); value sums drawn order by order.
- Campaign sizes log-uniform from ~3 to ~20,000 clicks a day (tiny to huge); a reporting-lag
  curve per account around its platform's (fast, medium, slow), jittered per campaign-day.
- Incidents, mostly partial or slow: conversion-rate drops that ramp in over five days (-50 %,
  -40 % on large campaigns), partial tracking losses (-60 %), whole tracking breaks (also on small
  campaigns and once per world on a whole account), value-only drops (x0.4, x0.6 ramping over five
  days), CPC spikes with spend held (x1.8), CTR drops (x0.5), overspend (budget ignored, x2.2) and
  under-delivery (x0.3).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.bench.alerts import InjectedIncident
from pipeline.bench.families.common import (
    FamilyWorld,
    apply_factor,
    incident_window,
    place_incident,
    split_lags,
)

NAME = "retail"
HELD_OUT = True
CONVERSION_TYPES = frozenset({"ROAS_DROP", "CPA_SPIKE", "ZERO_CONVERSIONS", "CONVERSIONS_DROP"})
COMPATIBLE: dict[str, frozenset[str]] = {
    "tracking_break": CONVERSION_TYPES,
    "tracking_partial": CONVERSION_TYPES,
    "cvr_drop": CONVERSION_TYPES,
    "value_drop": frozenset({"ROAS_DROP"}),
    "cpc_spike": frozenset({"CPC_SPIKE", "CPA_SPIKE", "ROAS_DROP", "CONVERSIONS_DROP"}),
    "ctr_drop": frozenset({"CTR_DROP", "SPEND_PACING", "CONVERSIONS_DROP"}),
    "overspend": frozenset({"SPEND_PACING", "ROAS_DROP", "CPA_SPIKE"}),
    "underdelivery": frozenset({"SPEND_PACING", "CONVERSIONS_DROP"}),
}
# (kind, label, factor, ramp days, campaign size: "small" | "large" | "any")
INCIDENT_SIZES: tuple[tuple[str, str, float, int, str], ...] = (
    ("tracking_break", "no conversions", 0.0, 1, "any"),
    ("tracking_break", "no conversions, small", 0.0, 1, "small"),
    ("tracking_partial", "-60%", 0.4, 1, "any"),
    ("cvr_drop", "-50% over 5 days", 0.5, 5, "any"),
    ("cvr_drop", "-40%, large", 0.6, 1, "large"),
    ("value_drop", "x0.4", 0.4, 1, "any"),
    ("value_drop", "x0.6 over 5 days", 0.6, 5, "any"),
    ("cpc_spike", "x1.8", 1.8, 1, "any"),
    ("ctr_drop", "x0.5", 0.5, 1, "any"),
    ("overspend", "x2.2", 2.2, 1, "any"),
    ("underdelivery", "x0.3", 0.3, 1, "any"),
)
PLATFORMS = ("shopads", "displaynet", "marketplace")
LAG_CURVES = {
    "shopads": np.array([0.92, 0.04, 0.02, 0.01, 0.006, 0.004]),
    "displaynet": np.array([0.82, 0.08, 0.04, 0.03, 0.02, 0.01]),
    "marketplace": np.array([0.75, 0.1, 0.06, 0.04, 0.03, 0.02]),
}
BUDGET_CHANGES = (0.5, 0.7, 1.4, 2.0)


class RetailWorld(FamilyWorld):
    """A family world whose budgets change over time: ``daily_budgets`` per campaign and day."""

    daily_budgets: np.ndarray

    def budgets(self, as_of: date | None = None) -> pd.DataFrame:
        frame = super().budgets(as_of)
        if as_of is not None:
            # The budget in force on the morning of as_of (changes take effect at a day's start).
            frame["daily_budget"] = self.daily_budgets[:, min(self.column(as_of), len(self.days) - 1)]
        return frame


def generate(seed: int, end: date, period_days: int, history_days: int, campaigns_per_account: int,
             accounts_per_platform: int, max_delay: int, incident_days: tuple[int, int]) -> FamilyWorld:  # fmt: skip
    rng = np.random.default_rng(40_000 + seed * 97)
    total = period_days + history_days
    days = [end - timedelta(days=total - 1 - i) for i in range(total)]
    weekdays = np.array([d.weekday() for d in days])
    rows, account_of = [], []
    accounts = [(p, a) for p in PLATFORMS for a in range(accounts_per_platform)]
    for index, (platform, a) in enumerate(accounts):
        for c in range(campaigns_per_account):
            rows.append((platform, f"{platform[:4]}{a}", f"{platform[:4]}{a}-{c:02d}"))
            account_of.append(index)
    n = len(rows)
    account_of = np.array(account_of)
    entities = pd.DataFrame(rows, columns=["platform", "account_id", "campaign_id"])
    entities["campaign_name"] = [f"Retail {cid}" for cid in entities["campaign_id"]]
    entities["currency"] = "GBP"

    # Calendar: per account, sales / holidays of one to three days (not incidents).
    demand_event, cvr_event, aov_event = (np.ones((len(accounts), total)) for _ in range(3))
    for index in range(len(accounts)):
        for _ in range(int(rng.integers(2, 5))):
            start, length = int(rng.integers(0, total - 3)), int(rng.integers(1, 4))
            demand_event[index, start : start + length] = np.exp(rng.uniform(np.log(0.6), np.log(1.7)))
            cvr_event[index, start : start + length] = np.exp(rng.uniform(np.log(0.85), np.log(1.25)))
            aov_event[index, start : start + length] = rng.uniform(0.85, 1.0)
    spread = rng.uniform(0.05, 0.35, n)
    day_index = np.exp(rng.normal(0, 1, (n, 7)) * spread[:, None])
    day_index /= day_index.mean(axis=1, keepdims=True)
    cvr_day_index = np.exp(rng.normal(0, 0.08, (n, 7)))
    cvr_day_index /= cvr_day_index.mean(axis=1, keepdims=True)
    span = np.linspace(-0.5, 0.5, total)[None, :]
    demand_trend = np.exp(span * np.log(1 + rng.uniform(-0.4, 0.4, n))[:, None] * 2)
    cvr_trend = np.exp(span * np.log(1 + rng.uniform(-0.2, 0.2, n))[:, None] * 2)

    clicks_target = np.exp(rng.uniform(np.log(3), np.log(20_000), n))
    ctr_base = np.exp(rng.normal(np.log(0.01), 0.6, n)).clip(0.001, 0.2)
    ctr_concentration = np.exp(rng.uniform(np.log(200), np.log(5000), n))  # beta a + b
    cpc_base = np.exp(rng.normal(np.log(0.6), 0.6, n))
    cvr_base = np.exp(rng.normal(np.log(0.025), 0.6, n)).clip(0.002, 0.25)
    shape = np.exp(rng.uniform(np.log(4), np.log(40), n))  # negative binomial shape of conversions
    aov_median = np.exp(rng.normal(np.log(45), 0.7, n))
    aov_sigma = rng.uniform(0.4, 1.2, n)

    demand = (
        clicks_target[:, None] / ctr_base[:, None] * day_index[:, weekdays] * demand_trend
        * demand_event[account_of]
    )  # fmt: skip
    ctr_factor, cpc_factor, cvr_factor, aov_factor = (np.ones((n, total)) for _ in range(4))
    demand_factor = np.ones((n, total))
    cvr = cvr_base[:, None] * cvr_day_index[:, weekdays] * cvr_trend * cvr_event[account_of]

    typical_spend = clicks_target * cpc_base
    capped = rng.random(n) < 0.4
    budget = np.where(
        capped, typical_spend * rng.uniform(0.45, 0.85, n), typical_spend * rng.uniform(1.4, 2.5, n)
    )
    budget = np.round(budget, 0).clip(5, None)
    daily_budgets = np.repeat(budget[:, None], total, axis=1)
    entities["daily_budget"] = budget
    typical_conversions = np.minimum(typical_spend, budget) / cpc_base * cvr_base

    period_start = end - timedelta(days=period_days - 1)
    incidents, zero = _plan(rng, seed, entities, typical_conversions, np.minimum(typical_spend, budget),
                            period_start, end, max_delay, incident_days, days)  # fmt: skip
    spend_incident = np.zeros(n, dtype=bool)
    ignore_budget = np.zeros((n, total), dtype=bool)
    tracking = np.ones((n, total))
    specs = {(s[0], s[1]): s for s in INCIDENT_SIZES}
    for incident in incidents:
        if incident.campaign_id is None:
            continue
        row = int(np.flatnonzero(entities["campaign_id"] == incident.campaign_id)[0])
        column, length = (incident.start - days[0]).days, (incident.end - incident.start).days + 1
        kind, _, factor, ramp_days, _ = specs[(incident.kind, incident.size)]
        ramp = np.minimum(np.arange(1, length + 1) / ramp_days, 1.0)
        target = {
            "tracking_break": tracking, "tracking_partial": tracking, "cvr_drop": cvr_factor,
            "value_drop": aov_factor, "cpc_spike": cpc_factor, "ctr_drop": ctr_factor,
            "overspend": demand_factor, "underdelivery": demand_factor,
        }[kind]  # fmt: skip
        apply_factor(target[row], column, length, factor, ramp)
        if kind == "overspend":
            ignore_budget[row, column : column + length] = True
        if kind in ("overspend", "underdelivery", "cpc_spike", "ctr_drop"):
            spend_incident[row] = True

    # Budget changes by the advertiser: a third of the campaigns, once, any day from two weeks
    # before the baseline to the end of the period.
    changes = (rng.random(n) < 0.33) & ~spend_incident
    for row in np.flatnonzero(changes):
        on = int(rng.integers(history_days - 40, total - 1))
        daily_budgets[row, on:] = max(5.0, round(budget[row] * BUDGET_CHANGES[int(rng.integers(0, 4))], 0))
    entities["daily_budget"] = daily_budgets[:, -1]

    impressions = rng.poisson(demand * demand_factor).astype(float)
    ctr_mean = np.clip(ctr_base[:, None] * ctr_factor, 1e-5, 0.5)
    ctr = rng.beta(ctr_mean * ctr_concentration[:, None], (1 - ctr_mean) * ctr_concentration[:, None])
    clicks = rng.binomial(impressions.astype(np.int64), ctr).astype(float)
    elasticity = (demand_trend * demand_event[account_of]) ** 0.2
    cpc = cpc_base[:, None] * elasticity * np.exp(rng.normal(0, 0.12, (n, total))) * cpc_factor
    spend = clicks * cpc
    limit = daily_budgets * rng.uniform(0.95, 1.0, (n, total))
    over = (spend > limit) & ~ignore_budget
    clicks = np.where(over, np.floor(clicks * limit / np.maximum(spend, 1e-9)), clicks)
    impressions = np.where(over, np.floor(impressions * limit / np.maximum(spend, 1e-9)), impressions)
    spend = np.round(clicks * cpc, 2)
    mean = clicks * cvr * cvr_factor
    conversions = rng.negative_binomial(shape[:, None], shape[:, None] / (shape[:, None] + mean)).astype(
        float
    )
    conversions = np.floor(conversions * tracking + rng.random((n, total)) * (tracking < 1) * (tracking > 0))
    conversions[zero] = 0.0
    value = _order_values(rng, conversions, aov_median, aov_sigma) * aov_factor * aov_event[account_of]
    curves = [_account_curve(rng, LAG_CURVES[platform]) for platform, _ in accounts]
    lag_shares = np.concatenate([split_lags(rng, (1, total), curves[index], 50.0) for index in account_of])
    world = RetailWorld(NAME, seed, days, entities, spend, impressions, clicks, conversions, value, lag_shares,
                        incidents)  # fmt: skip
    world.daily_budgets = daily_budgets
    return world


def _account_curve(rng: np.random.Generator, curve: np.ndarray) -> np.ndarray:
    jittered = curve * np.exp(rng.normal(0, 0.25, curve.size))
    return jittered / jittered.sum()


def _order_values(
    rng: np.random.Generator, conversions: np.ndarray, median: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """The sum of each campaign-day's lognormal order values, 0.3 % of them whales (x15)."""
    counts = conversions.astype(np.int64).ravel()
    rows = np.repeat(np.arange(conversions.shape[0]), conversions.shape[1])
    order_rows = np.repeat(rows, counts)
    draws = np.exp(rng.normal(np.log(median[order_rows]), sigma[order_rows]))
    draws *= np.where(rng.random(draws.size) < 0.003, 15.0, 1.0)
    cell = np.repeat(np.arange(counts.size), counts)
    return np.bincount(cell, weights=draws, minlength=counts.size).reshape(conversions.shape)


def _plan(rng: np.random.Generator, seed: int, entities: pd.DataFrame, conversions: np.ndarray,
          spend: np.ndarray, period_start: date, end: date, max_delay: int,
          incident_days: tuple[int, int], days: list[date]) -> tuple[list[InjectedIncident], np.ndarray]:  # fmt: skip
    """Incidents on campaigns of fitting size; one whole-account tracking break (its zero mask)."""
    order = rng.permutation(len(entities))
    used: set[int] = set()
    out = []
    zero = np.zeros((len(entities), len(days)), dtype=bool)
    # The whole-account break: all of one account's campaigns lose every conversion.
    account = str(entities["account_id"].iloc[int(rng.integers(0, len(entities)))])
    in_account = (entities["account_id"] == account).to_numpy()
    start, stop = incident_window(rng, period_start, end, max_delay, (2, 4))
    first, last = (start - days[0]).days, (stop - days[0]).days
    zero[in_account, first : last + 1] = True
    used |= set(np.flatnonzero(in_account).tolist())
    out.append(
        InjectedIncident(seed, "tracking_break", "whole account", str(entities["platform"][in_account].iloc[0]),
                         account, None, start, stop, float(conversions[in_account].sum()),
                         float(spend[in_account].sum()))
    )  # fmt: skip
    for kind, label, _factor, _ramp, size in INCIDENT_SIZES:
        for _ in range(2):
            if size == "small":
                fits = (conversions >= 1.5) & (conversions < 4) & (spend >= 20)
            elif size == "large":
                fits = (conversions >= 40) & (spend >= 50)
            elif kind in ("overspend", "underdelivery", "ctr_drop", "cpc_spike"):
                fits = (spend >= 50) & (conversions >= 1)
            else:
                fits = (conversions >= 4) & (spend >= 50)
            incident = place_incident(rng, seed, kind, label, entities, fits, order, used, (conversions, spend),
                                      period_start, end, max_delay, incident_days)  # fmt: skip
            if incident is not None:
                out.append(incident)
    return out, zero
