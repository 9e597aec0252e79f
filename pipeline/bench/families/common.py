"""What every scenario family shares: the world it generates, restatement, the mornings' frames.

A family is a generator of *final* campaign-day facts (what the platforms will eventually report)
plus the incidents it injected, with its own generative assumptions. The harness here turns them
into what a morning sees: the last ``HISTORY_DAYS`` days, recent conversions and their value still
arriving (each campaign-day's conversions are split over reporting lags once, so later mornings
only ever see more), a row only for campaign-days that delivered, and the budgets then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.bench.alerts import HISTORY_DAYS, InjectedIncident


@dataclass
class FamilyWorld:
    """Final facts per campaign (rows) and day (columns), and the incidents in them."""

    family: str
    seed: int
    days: list[date]
    entities: pd.DataFrame  # platform, account_id, campaign_id, campaign_name, currency, daily_budget
    spend: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray  # final counts
    value: np.ndarray  # final conversion value
    lag_shares: np.ndarray  # (n, days, lags): share of each campaign-day's conversions reported at lag k
    incidents: list[InjectedIncident]

    def __post_init__(self) -> None:
        # Whole conversions per lag (multinomial on the shares), drawn once: every morning sees a
        # consistent, growing count, and a day with one conversion reports one or none.
        rng = np.random.default_rng(self.seed * 7 + len(self.family))
        counts = self.conversions.astype(np.int64)
        shares = self.lag_shares / self.lag_shares.sum(axis=2, keepdims=True)
        self.lag_counts = rng.multinomial(counts, shares).astype(float)

    def column(self, day: date) -> int:
        return (day - self.days[0]).days

    def observed(self, as_of: date) -> pd.DataFrame:
        """Campaign-days of the ``HISTORY_DAYS`` days before ``as_of`` as reported that morning."""
        stop = self.column(as_of)
        start = stop - HISTORY_DAYS
        ages = np.arange(HISTORY_DAYS, 0, -1)  # as_of - day, per column of the slice
        lags = self.lag_shares.shape[2]
        # Lag k (0 = by the next morning) is reported once the day is at least k + 1 days old.
        reported = (np.arange(lags)[None, :] < ages[:, None]).astype(float)  # (days, lags)
        conversions = (self.lag_counts[:, start:stop, :] * reported[None, :, :]).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_conversion = np.where(
                self.conversions[:, start:stop] > 0,
                self.value[:, start:stop] / self.conversions[:, start:stop],
                0.0,
            )
        value = conversions * per_conversion
        spend = self.spend[:, start:stop]
        delivered = (spend > 0) | (self.impressions[:, start:stop] > 0)
        rows, cols = np.nonzero(delivered)
        entities = self.entities.iloc[rows].reset_index(drop=True)
        return pd.DataFrame(
            {
                "date_day": [self.days[start + c] for c in cols],
                "platform": entities["platform"],
                "account_id": entities["account_id"],
                "campaign_id": entities["campaign_id"],
                "campaign_name": entities["campaign_name"],
                "currency": entities["currency"],
                "spend": np.round(spend[rows, cols], 2),
                "impressions": self.impressions[:, start:stop][rows, cols],
                "clicks": self.clicks[:, start:stop][rows, cols],
                "conversions": conversions[rows, cols],
                "conversion_value": np.round(value[rows, cols], 2),
            }
        )

    def budgets(self, as_of: date | None = None) -> pd.DataFrame:
        """``dim_campaigns`` on the morning of ``as_of`` (static budgets here; families whose
        advertisers change budgets override it)."""
        frame = self.entities[["platform", "account_id", "campaign_id", "daily_budget"]].copy()
        frame["lifetime_budget"] = None
        frame["status"] = "ACTIVE"
        return frame

    def volumes(self, before: date, days: int = 14) -> pd.DataFrame:
        """Mean final conversions, spend and clicks per day over the ``days`` before ``before``."""
        stop = self.column(before)
        frame = self.entities[["platform", "account_id", "campaign_id"]].copy()
        for name in ("conversions", "spend", "clicks"):
            frame[name] = getattr(self, name)[:, stop - days : stop].mean(axis=1)
        return frame


def split_lags(
    rng: np.random.Generator, shape: tuple[int, int], curve: np.ndarray, jitter: float
) -> np.ndarray:
    """Per campaign-day shares of conversions reported at each lag: ``curve`` (sums to 1) with
    Dirichlet jitter (``jitter`` = concentration; higher = closer to the curve)."""
    shares = rng.dirichlet(curve * jitter, size=shape)
    return shares


def ramp(days: int, length: int, gradual: bool) -> np.ndarray:
    """Share of an incident's full effect on each of its ``length`` days (gradual: linear over up to
    three days)."""
    if not gradual:
        return np.ones(length)
    steps = min(3, length)
    out = np.ones(length)
    out[:steps] = np.arange(1, steps + 1) / steps
    return out[:days] if days < length else out


def apply_factor(series: np.ndarray, column: int, length: int, factor: float, shape: np.ndarray) -> None:
    """Multiply ``series[column:column+length]`` by the factor scaled in by ``shape`` (in place)."""
    effect = 1.0 + (factor - 1.0) * shape[:length]
    end = min(column + length, series.shape[0])
    series[column:end] *= effect[: end - column]


def incident_window(rng: np.random.Generator, period_start: date, end: date, max_delay: int,
                    lengths: tuple[int, int]) -> tuple[date, date]:  # fmt: skip
    first = period_start + timedelta(days=3)
    last = end - timedelta(days=max_delay + 1)
    start = first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))
    length = int(rng.integers(lengths[0], lengths[1] + 1))
    return start, start + timedelta(days=length - 1)


def place_incident(rng: np.random.Generator, seed: int, kind: str, label: str, entities: pd.DataFrame,
                   fits: np.ndarray, order: np.ndarray, used: set[int], volumes: tuple[np.ndarray, np.ndarray],
                   period_start: date, end: date, max_delay: int,
                   incident_days: tuple[int, int]) -> InjectedIncident | None:  # fmt: skip
    """The incident on the first campaign in ``order`` that ``fits`` and holds none yet (None when none is
    left); ``volumes`` are the campaigns' usual conversions and spend, kept as the incident's size."""
    position = next((int(p) for p in order if fits[p] and int(p) not in used), None)
    if position is None:
        return None
    used.add(position)
    start, stop = incident_window(rng, period_start, end, max_delay, incident_days)
    entity = entities.iloc[position]
    conversions, spend = volumes
    return InjectedIncident(seed, kind, label, entity["platform"], entity["account_id"], entity["campaign_id"],
                            start, stop, float(conversions[position]), float(spend[position]))  # fmt: skip
