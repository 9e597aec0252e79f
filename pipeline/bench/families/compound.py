"""Scenario family "compound": spend-led worlds with compound, gradual and partial incidents.

Generative assumptions (unlike the sandbox's and the held-out "funnel" family's):

- Spend-led: each day's spend = daily budget x a delivery share (Beta around 0.9 for
  budget-limited campaigns, lognormal around 0.6 for demand-limited ones) x a smooth weekly curve
  (mid-week peak, Monday-high decay, or weekend dip of varying depth); clicks = spend / CPC with
  gamma CPC noise; impressions = clicks / CTR (lognormal).
- Conversions Poisson on clicks x a conversion rate with a linear trend (-25 % .. +25 % over the
  period) and a month-end payday lift; value = conversions x a gamma order value (shape 1.5-4).
- Campaign sizes from ~0.5 to ~150 conversions a day (a third of them small); one reporting-lag
  curve per world, jittered per campaign-day.
- Incidents, alone or together: CPC up while the conversion rate falls, gradual conversion-rate
  decay, half the conversions lost (partial tracking), value per conversion cut (a currency or
  value-parameter mix-up), zero conversions on small campaigns, CPC spikes, overspend and
  under-delivery.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.bench.alerts import InjectedIncident
from pipeline.bench.families.common import FamilyWorld, apply_factor, incident_window, ramp, split_lags

NAME = "compound"
HELD_OUT = False
CONVERSION_TYPES = frozenset({"ROAS_DROP", "CPA_SPIKE", "ZERO_CONVERSIONS", "CONVERSIONS_DROP"})
COMPATIBLE: dict[str, frozenset[str]] = {
    "tracking_break": CONVERSION_TYPES,
    "tracking_partial": CONVERSION_TYPES,
    "cvr_drop": CONVERSION_TYPES,
    "cpc_cvr": CONVERSION_TYPES | {"CPC_SPIKE"},
    "value_drop": frozenset({"ROAS_DROP"}),
    "cpc_spike": frozenset({"CPC_SPIKE", "CPA_SPIKE", "ROAS_DROP", "CONVERSIONS_DROP"}),
    "overspend": frozenset({"SPEND_PACING", "ROAS_DROP", "CPA_SPIKE"}),
    "underdelivery": frozenset({"SPEND_PACING", "CONVERSIONS_DROP"}),
}
# (kind, label, cpc factor, cvr factor, value factor, spend factor, gradual, small campaign)
INCIDENT_SIZES: tuple[tuple[str, str, float, float, float, float, bool, bool], ...] = (
    ("tracking_break", "no conversions", 1.0, 0.0, 1.0, 1.0, False, False),
    ("tracking_break", "no conversions, small", 1.0, 0.0, 1.0, 1.0, False, True),
    ("tracking_partial", "half lost", 1.0, 0.5, 1.0, 1.0, False, False),
    ("cvr_drop", "-60% gradual", 1.0, 0.4, 1.0, 1.0, True, False),
    ("cvr_drop", "-40%", 1.0, 0.6, 1.0, 1.0, False, False),
    ("cpc_cvr", "cpc x1.5, cvr -30%", 1.5, 0.7, 1.0, 1.0, False, False),
    ("value_drop", "x0.5", 1.0, 1.0, 0.5, 1.0, False, False),
    ("value_drop", "x0.6 gradual", 1.0, 1.0, 0.6, 1.0, True, False),
    ("cpc_spike", "x2", 2.0, 1.0, 1.0, 1.0, False, False),
    ("cpc_spike", "x1.7 gradual", 1.7, 1.0, 1.0, 1.0, True, False),
    ("overspend", "x2", 1.0, 1.0, 1.0, 2.0, False, False),
    ("underdelivery", "x0.35", 1.0, 1.0, 1.0, 0.35, False, False),
)
PLATFORMS = ("searchco", "socialco", "videoco")


def _weekly(rng: np.random.Generator) -> np.ndarray:
    kind = int(rng.integers(0, 3))
    day = np.arange(7)
    if kind == 0:  # mid-week peak
        return 1.0 + rng.uniform(0.1, 0.3) * np.cos(2 * np.pi * (day - 2) / 7)
    if kind == 1:  # Monday high, decaying through the week
        return 1.0 + rng.uniform(0.2, 0.5) * np.exp(-day / 2.0) - 0.1
    depth = rng.uniform(0.15, 0.6)  # weekend dip
    return np.where(day >= 5, 1.0 - depth, 1.0 + depth * 2 / 5)


def generate(seed: int, end: date, period_days: int, history_days: int, campaigns_per_account: int,
             accounts_per_platform: int, max_delay: int, incident_days: tuple[int, int]) -> FamilyWorld:  # fmt: skip
    rng = np.random.default_rng(20_000 + seed * 53)
    total = period_days + history_days
    days = [end - timedelta(days=total - 1 - i) for i in range(total)]
    weekdays = np.array([d.weekday() for d in days])
    rows, curves = [], []
    for platform in PLATFORMS:
        for a in range(accounts_per_platform):
            curve = _weekly(rng)
            for c in range(campaigns_per_account):
                rows.append((platform, f"{platform[:3]}{a}", f"{platform[:3]}{a}-{c:03d}"))
                curves.append(curve[weekdays])
    n = len(rows)
    entities = pd.DataFrame(rows, columns=["platform", "account_id", "campaign_id"])
    entities["campaign_name"] = [f"Compound {cid}" for cid in entities["campaign_id"]]
    entities["currency"] = "USD"
    weekly = np.stack(curves)

    small = rng.random(n) < 0.33
    conversions_per_day = np.where(
        small, rng.uniform(0.5, 4, n), np.exp(rng.uniform(np.log(4), np.log(150), n))
    )
    cpa = np.exp(rng.normal(np.log(30), 0.5, n))
    budget = np.round(conversions_per_day * cpa * rng.uniform(1.0, 1.3, n), 0).clip(10, None)
    entities["daily_budget"] = budget
    limited = rng.random(n) < 0.6
    share = np.where(
        limited[:, None],
        rng.beta(30, 3, (n, total)),
        np.exp(rng.normal(np.log(0.6), 0.15, (n, total))),
    )
    spend_factor = np.ones((n, total))
    cpc_base = np.exp(rng.normal(np.log(1.2), 0.5, n))
    cpc_noise = rng.gamma(50, 1 / 50, (n, total))
    cpc_factor = np.ones((n, total))
    trend = np.linspace(0, 1, total)[None, :] * rng.uniform(-0.25, 0.25, n)[:, None]
    payday = np.array([1.1 if d.day >= 25 else 1.0 for d in days])[None, :]
    cvr_factor = np.ones((n, total))
    value_factor = np.ones((n, total))
    ctr = np.exp(rng.normal(np.log(0.02), 0.6, n))[:, None] * np.exp(rng.normal(0, 0.1, (n, total)))
    aov = np.exp(rng.normal(np.log(70), 0.5, n))
    aov_shape = rng.uniform(1.5, 4, n)

    period_start = end - timedelta(days=period_days - 1)
    typical_spend = budget * np.where(limited, 0.91, 0.6)
    incidents = _plan(rng, seed, entities, conversions_per_day, typical_spend, small, period_start, end,
                      max_delay, incident_days)  # fmt: skip
    specs = {(s[0], s[1]): s for s in INCIDENT_SIZES}
    for incident in incidents:
        row = int(np.flatnonzero(entities["campaign_id"] == incident.campaign_id)[0])
        column, length = (incident.start - days[0]).days, (incident.end - incident.start).days + 1
        _, _, cpc_f, cvr_f, value_f, spend_f, gradual, _ = specs[(incident.kind, incident.size)]
        shape = ramp(length, length, gradual)
        for series, factor in ((cpc_factor, cpc_f), (cvr_factor, cvr_f), (value_factor, value_f),
                               (spend_factor, spend_f)):  # fmt: skip
            if factor != 1.0:
                apply_factor(series[row], column, length, factor, shape)

    spend = np.round(budget[:, None] * share * weekly * spend_factor, 2)
    cpc = cpc_base[:, None] * cpc_noise * cpc_factor
    clicks = np.floor(spend / cpc)
    impressions = np.floor(clicks / ctr)
    # Conversions per click at the campaign's CPA when CPC is at its base level.
    cvr = (cpc_base / cpa)[:, None] * (1.0 + trend) * payday * cvr_factor
    conversions = rng.poisson(np.clip(clicks * cvr, 0, None)).astype(float)
    value = rng.gamma(np.maximum(conversions * aov_shape[:, None], 1e-9), aov[:, None] / aov_shape[:, None])
    value = np.where(conversions > 0, value, 0.0) * value_factor
    curve = np.array([0.8, 0.1, 0.05, 0.03, 0.02])
    curve = curve * np.exp(rng.normal(0, 0.2, curve.size))
    lag_shares = split_lags(rng, (n, total), curve / curve.sum(), 60.0)
    return FamilyWorld(NAME, seed, days, entities, spend, impressions, clicks, conversions, value, lag_shares,
                       incidents)  # fmt: skip


def _plan(rng: np.random.Generator, seed: int, entities: pd.DataFrame, conversions: np.ndarray, spend: np.ndarray,
          small: np.ndarray, period_start: date, end: date, max_delay: int,
          incident_days: tuple[int, int]) -> list[InjectedIncident]:  # fmt: skip
    order = rng.permutation(len(entities))
    used: set[int] = set()
    out = []
    for kind, label, *_, is_small in INCIDENT_SIZES:
        for _ in range(2):
            if is_small:
                fits = small & (conversions >= 1.5) & (spend >= 20)
            elif kind in ("overspend", "underdelivery"):
                fits = ~small & (spend >= 50)
            else:
                fits = ~small & (conversions >= 4) & (spend >= 50)
            position = next((int(p) for p in order if fits[p] and int(p) not in used), None)
            if position is None:
                continue
            used.add(position)
            start, stop = incident_window(rng, period_start, end, max_delay, incident_days)
            entity = entities.iloc[position]
            out.append(
                InjectedIncident(seed, kind, label, entity["platform"], entity["account_id"], entity["campaign_id"],
                                 start, stop, float(conversions[position]), float(spend[position]))
            )  # fmt: skip
    return out
