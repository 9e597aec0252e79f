"""A second, independent market generator for the budget benchmark (not the sandbox's assumptions).

Where the sandbox draws Michaelis-Menten curves, ~10 % lognormal demand noise and budgets of 40..400,
this market differs in every generative choice:

- curve shapes: a mix of exponential saturation ``V (1 - exp(-s / c))``, Hill curves with slope
  0.6..1.0, and logarithmic ``a log(1 + s / b)``; elasticities at the running spend 0.15..0.85;
- campaign sizes lognormal (daily budgets ~15..5,000), so noise ranges from Poisson-dominated
  (small) to drift-dominated (large);
- outcome: Poisson conversions, order values lognormal (sd 0.5 per order, aggregated), a
  conversion-rate drift (AR(1), sd ~4 %), weekly demand patterns of random shapes (weekend peaks or
  dips, midweek humps);
- delivery: spend = budget x AR(1) pacing (sd ~4 %, under-delivery 0.85..1.0), so steady budgets
  vary spend even less than in the sandbox.

``MarketWorld.observed(as_of)`` returns the mart-shaped campaign-day frame of the days before
``as_of``; ``set_multiplier`` changes a campaign's budget from a day on; ``true_daily(key, spend)``
is the steady-state expected daily outcome (value) at a daily spend (demand factors average 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

Key = tuple[str, str, str]


@dataclass
class MarketCampaign:
    key: Key
    shape: str  # "exp", "hill", "log"
    p1: float
    p2: float
    p3: float
    budget: float
    delivery: float  # mean share of the budget delivered
    aov: float
    weekly: np.ndarray  # 7 demand factors, mean 1
    multipliers: dict[int, float] = field(default_factory=dict)  # day ordinal -> budget multiplier from then

    def response(self, spend: float | np.ndarray) -> np.ndarray:
        s = np.maximum(np.asarray(spend, dtype=np.float64), 0.0)
        if self.shape == "exp":
            return self.p1 * (1.0 - np.exp(-s / self.p2))
        if self.shape == "hill":
            sk = s**self.p3
            return self.p1 * sk / (self.p2**self.p3 + sk)
        return self.p1 * np.log1p(s / self.p2)

    def multiplier(self, ordinal: int) -> float:
        value = 1.0
        for start in sorted(self.multipliers):
            if start <= ordinal:
                value = self.multipliers[start]
        return value


class MarketWorld:
    def __init__(
        self, seed: int, *, start: date, days: int, campaigns: int = 30, order_value_scale: float = 1.0
    ) -> None:
        """``order_value_scale`` < 1 makes orders cheaper, so the same value comes from more orders:
        less count noise, the same curves, drift and pacing (the dense held-out variant)."""
        self.seed = seed
        self.start = start
        self.days = days
        rng = np.random.default_rng([seed, 7_310_221])
        self.campaigns: dict[Key, MarketCampaign] = {}
        for i in range(campaigns):
            platform = ("meta", "google_ads", "tiktok", "snapchat")[i % 4]
            key = (platform, f"acct-{i % 5}", f"mkt-{seed}-{i}")
            budget = float(np.exp(rng.normal(math.log(250), 1.1)))
            budget = min(max(budget, 15.0), 5000.0)
            delivery = float(rng.uniform(0.85, 1.0))
            spend = budget * delivery
            elasticity = float(rng.uniform(0.15, 0.85))
            roas = float(np.exp(rng.normal(math.log(2.5), 0.45)))
            level = roas * spend
            shape = str(rng.choice(["exp", "hill", "log"]))
            if shape == "exp":  # e = x exp(-x) / (1 - exp(-x)), x = s / c: solve for x
                x = _solve(lambda x: x * math.exp(-x) / (1 - math.exp(-x)), elasticity, 1e-4, 30.0)
                c = spend / x
                p1, p2, p3 = level / (1 - math.exp(-x)), c, 0.0
            elif shape == "hill":
                k = float(rng.uniform(0.6, 1.0))
                elasticity = min(elasticity, 0.95 * k)
                q = elasticity / k
                h = spend * (q / (1 - q)) ** (1 / k)
                p1, p2, p3 = level / (1 - q), h, k
            else:  # e = x / ((1 + x) log(1 + x)), x = s / b
                x = _solve(lambda x: x / ((1 + x) * math.log1p(x)), elasticity, 1e-4, 1e4)
                b = spend / x
                p1, p2, p3 = level / math.log1p(x), b, 0.0
            weekly = _weekly_shape(rng)
            aov = order_value_scale * float(np.exp(rng.normal(math.log(60), 0.6)))
            self.campaigns[key] = MarketCampaign(key, shape, p1, p2, p3, budget, delivery, aov, weekly)
        self._noise_seed = [seed, 91_117]

    def set_multiplier(self, key: Key, day: date, multiplier: float) -> None:
        self.campaigns[key].multipliers[day.toordinal()] = float(multiplier)

    def active_through(self, key: Key, day: date) -> bool:
        return True

    def true_daily(self, key: Key, spend: float) -> float:
        return float(self.campaigns[key].response(spend))

    def observed(self, as_of: date) -> pd.DataFrame:
        """Every campaign-day from ``start`` to the day before ``as_of`` (noise fixed per seed and day)."""
        n_days = (as_of - self.start).days
        rows = []
        for index, (key, c) in enumerate(self.campaigns.items()):
            rng = np.random.default_rng([*self._noise_seed, index])
            pacing = _ar1(rng, self.days + 60, 0.7, 0.04)
            drift = _ar1(rng, self.days + 60, 0.9, 0.04)
            u_conv = rng.random(self.days + 60)
            z_value = rng.standard_normal(self.days + 60)
            for d in range(n_days):
                day = self.start + timedelta(days=d)
                budget = c.budget * c.multiplier(day.toordinal())
                spend = budget * min(c.delivery * math.exp(pacing[d]), 1.0)
                expected_value = float(c.response(spend)) * c.weekly[day.weekday()] * math.exp(drift[d])
                expected_orders = expected_value / c.aov
                orders = int(_poisson_from_uniform(expected_orders, u_conv[d]))
                value = (
                    orders
                    * c.aov
                    * math.exp(0.5 / math.sqrt(max(orders, 1)) * z_value[d] - 0.125 / max(orders, 1))
                )
                rows.append((day, key[0], key[1], key[2], spend, orders, value if orders else 0.0))
        frame = pd.DataFrame(
            rows,
            columns=[
                "date_day",
                "platform",
                "account_id",
                "campaign_id",
                "spend",
                "conversions",
                "conversion_value",
            ],
        )
        frame["campaign_name"] = frame["campaign_id"]
        frame["currency"] = "SIM"
        return frame


def _solve(f, target: float, low: float, high: float) -> float:  # type: ignore[no-untyped-def]
    """Bisection for a decreasing f(x) = target."""
    for _ in range(200):
        mid = math.sqrt(low * high)
        if f(mid) > target:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


def _weekly_shape(rng: np.random.Generator) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:  # weekend peak
        base = np.array([1, 1, 1, 1, 1.05, 1.0 + rng.uniform(0.1, 0.4), 1.0 + rng.uniform(0.1, 0.4)])
    elif kind == 1:  # weekend dip (B2B)
        base = np.array([1.1, 1.15, 1.15, 1.1, 1.0, 1.0 - rng.uniform(0.2, 0.5), 1.0 - rng.uniform(0.2, 0.5)])
    else:  # midweek hump
        base = 1.0 + rng.uniform(0.05, 0.25) * np.sin(np.pi * np.arange(7) / 6.0)
    return base / base.mean()


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    out = np.empty(n)
    level = rng.normal(0.0, sd)
    innovation = sd * math.sqrt(1 - phi**2)
    for i in range(n):
        level = phi * level + rng.normal(0.0, innovation)
        out[i] = level
    return out - sd**2 / 2


def _poisson_from_uniform(mean: float, u: float) -> float:
    """Poisson quantile at ``u`` (normal approximation above 50), so noise is fixed per day."""
    if mean <= 0:
        return 0.0
    if mean > 50:
        from scipy.stats import norm

        return max(round(mean + math.sqrt(mean) * float(norm.ppf(u))), 0)
    from scipy.stats import poisson

    return float(poisson.ppf(u, mean))
