"""Hierarchical pooling of campaign elasticities, with the spread between campaigns integrated out.

Each campaign's own data give an elasticity estimate ``e_i`` with standard error ``se_i`` (from its
curve fit under a flat prior). The campaigns of one run are taken to share a population::

    theta_i ~ Normal(mu, tau^2)          true elasticity of campaign i
    e_i     ~ Normal(theta_i, se_i^2)    what its data say

with a flat prior on ``mu`` and a uniform prior on ``tau`` over a grid (Gelman et al., *Bayesian Data
Analysis*, 5.4). Instead of plugging in one estimate of ``tau`` (DerSimonian-Laird often returns 0
when every campaign's own estimate is noisy, and then every campaign is shrunk to the mean with a
falsely small standard error), the posterior of ``tau`` is computed on the grid and every quantity is
averaged over it: the population mean and spread, each campaign's posterior mean and sd, and joint
posterior draws (``tau``, then ``mu`` given ``tau``, then each ``theta_i`` given both).

Everything is a normal approximation of each campaign's likelihood; estimates pinned at a bound of
the elasticity range carry no interior information and enter with a wide standard error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

WEAK_SE = 0.5  # standard error given to estimates that carry no usable information
TAU_GRID_MAX = 0.5
TAU_GRID_POINTS = 101


@dataclass(frozen=True)
class ElasticityPool:
    """The hierarchical posterior of a set of campaign elasticities (see the module docstring)."""

    keys: tuple[object, ...]
    estimates: np.ndarray  # e_i, each campaign's own estimate
    standard_errors: np.ndarray  # se_i
    tau_grid: np.ndarray
    tau_weights: np.ndarray  # posterior probability of each grid value
    mu_hat: np.ndarray  # E[mu | tau, data] per grid value
    mu_var: np.ndarray  # Var[mu | tau, data] per grid value
    lower: float = 0.005  # elasticities are clipped into (lower, upper) when drawn
    upper: float = 0.995

    @property
    def population_mean(self) -> float:
        return float(np.sum(self.tau_weights * self.mu_hat))

    @property
    def population_sd(self) -> float:
        """Sd of a new campaign's elasticity around the population mean (tau and mu integrated)."""
        mean = self.population_mean
        second = np.sum(self.tau_weights * (self.tau_grid**2 + self.mu_var + self.mu_hat**2))
        return float(math.sqrt(max(second - mean**2, 0.0)))

    @property
    def tau_mean(self) -> float:
        return float(np.sum(self.tau_weights * self.tau_grid))

    def _conditional(self) -> tuple[np.ndarray, np.ndarray]:
        """E and Var of every theta_i given each tau (grid x campaigns), mu integrated out."""
        tau2 = np.maximum(self.tau_grid[:, None] ** 2, 1e-12)
        se2 = self.standard_errors[None, :] ** 2
        shrink = se2 / (se2 + tau2)  # weight on mu
        mean = (1.0 - shrink) * self.estimates[None, :] + shrink * self.mu_hat[:, None]
        var = 1.0 / (1.0 / se2 + 1.0 / tau2) + shrink**2 * self.mu_var[:, None]
        return mean, var

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Each campaign's posterior mean and sd, averaged over tau."""
        mean, var = self._conditional()
        w = self.tau_weights[:, None]
        post_mean = np.sum(w * mean, axis=0)
        post_var = np.sum(w * (var + mean**2), axis=0) - post_mean**2
        return post_mean, np.sqrt(np.maximum(post_var, 0.0))

    def posterior_of(self) -> dict[object, tuple[float, float]]:
        mean, sd = self.posterior()
        return {k: (float(m), float(s)) for k, m, s in zip(self.keys, mean, sd, strict=True)}

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` joint posterior draws of every theta_i (n x campaigns), clipped into (lower, upper)."""
        if not len(self.keys):
            return np.zeros((n, 0))
        grid_index = rng.choice(len(self.tau_grid), size=n, p=self.tau_weights)
        tau2 = np.maximum(self.tau_grid[grid_index] ** 2, 1e-12)[:, None]
        mu = self.mu_hat[grid_index] + np.sqrt(self.mu_var[grid_index]) * rng.standard_normal(n)
        se2 = self.standard_errors[None, :] ** 2
        precision = 1.0 / se2 + 1.0 / tau2
        mean = (self.estimates[None, :] / se2 + mu[:, None] / tau2) / precision
        theta = mean + rng.standard_normal((n, len(self.keys))) / np.sqrt(precision)
        return np.clip(theta, self.lower, self.upper)


def pool_elasticities(
    estimates: Mapping[object, tuple[float, float | None]],
    *,
    lower: float = 0.005,
    upper: float = 0.995,
    bound_margin: float = 0.02,
) -> ElasticityPool:
    """Pool ``{key: (estimate, standard error)}``; estimates within ``bound_margin`` of ``lower`` /
    ``upper`` or without a usable standard error enter with :data:`WEAK_SE` around the middle."""
    keys = tuple(estimates)
    values, errors = [], []
    span = upper - lower
    for key in keys:
        value, se = estimates[key]
        pinned = not (lower + bound_margin * span < value < upper - bound_margin * span)
        unusable = se is None or not math.isfinite(se) or se <= 0 or se >= 10
        if pinned or unusable:
            values.append(0.5 * (lower + upper))
            errors.append(max(WEAK_SE, se or 0.0) if not unusable else WEAK_SE)
        else:
            values.append(float(value))
            errors.append(max(float(se), 1e-4))  # type: ignore[arg-type]
    e = np.array(values, dtype=np.float64)
    se = np.array(errors, dtype=np.float64)
    grid = np.linspace(0.0, TAU_GRID_MAX * span, TAU_GRID_POINTS)
    grid[0] = 1e-4  # tau = 0 exactly would make the conditional formulas divide by zero
    if not len(keys):
        weights = np.full(len(grid), 1.0 / len(grid))
        return ElasticityPool(keys, e, se, grid, weights, np.full(len(grid), 0.5 * (lower + upper)),
                              np.full(len(grid), span**2), lower, upper)  # fmt: skip
    total = se[None, :] ** 2 + grid[:, None] ** 2
    mu_var = 1.0 / np.sum(1.0 / total, axis=1)
    mu_hat = mu_var * np.sum(e[None, :] / total, axis=1)
    log_post = (
        0.5 * np.log(mu_var)
        - 0.5 * np.sum(np.log(total), axis=1)
        - 0.5 * np.sum((e[None, :] - mu_hat[:, None]) ** 2 / total, axis=1)
    )
    weights = np.exp(log_post - log_post.max())
    weights /= weights.sum()
    return ElasticityPool(keys, e, se, grid, weights, mu_hat, mu_var, lower, upper)


def pooled_prior(pool: ElasticityPool, *, min_sd: float, default: tuple[float, float], min_campaigns: int,
                 informative: Sequence[bool] | None = None) -> tuple[float, float]:  # fmt: skip
    """The prior a campaign's own fit gets: the population mean and predictive sd, tau integrated.

    With fewer than ``min_campaigns`` informative estimates the configured ``default`` is used."""
    count = int(np.sum(informative)) if informative is not None else len(pool.keys)
    if count < min_campaigns:
        return default
    return (pool.population_mean, max(pool.population_sd, min_sd))


__all__ = ["ElasticityPool", "pool_elasticities", "pooled_prior"]
