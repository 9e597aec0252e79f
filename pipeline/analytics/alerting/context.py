"""What every daily test shares: the panel, baselines per rate metric, groups per level."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np

from pipeline.analytics.alerting.baseline import RateBaseline, fit_rate
from pipeline.analytics.alerting.frames import (
    Budget,
    HealthIndex,
    Panel,
)
from pipeline.analytics.alerting.health import summarize
from pipeline.analytics.alerting.model import (
    AlertConfig,
    AlertType,
    EntityLevel,
)

GROUP_COLUMNS = {
    EntityLevel.CAMPAIGN: ["platform", "account_id", "campaign_id"],
    EntityLevel.ACCOUNT: ["platform", "account_id"],
    EntityLevel.PLATFORM: ["platform"],
}


class Context:
    """The panel plus what every detector needs: baselines per rate metric, groups per level."""

    def __init__(
        self,
        panel: Panel,
        config: AlertConfig,
        health: HealthIndex | None,
        budgets: dict[tuple[str, str, str], Budget],
        check_filter: Callable[[tuple[str, str, str, str, str]], bool] | None = None,
    ) -> None:
        self.panel = panel
        self.check_filter = check_filter
        self.config = config
        self.health = health
        self.budgets = budgets
        base = panel.baseline
        ones = np.ones_like(panel.maturity[:, base])

        def fit(
            numerator: np.ndarray, denominator: np.ndarray, counts: np.ndarray, mature: bool
        ) -> RateBaseline:
            return fit_rate(
                numerator[:, base],
                denominator[:, base],
                counts[:, base],
                panel.has_row[:, base],
                panel.weekdays[base],
                panel.maturity[:, base] if mature else ones,
                same_weekday=config.same_weekday_baseline,
                outlier_z=config.outlier_z,
                max_outlier_share=config.max_outlier_share,
            )

        self.value_model = fit(panel.value, panel.spend, panel.conversions, mature=True)
        self.conversion_model = fit(panel.conversions, panel.spend, panel.conversions, mature=True)
        self.click_model = fit(panel.clicks, panel.impressions, panel.clicks, mature=False)
        self.cpc_model = fit(panel.clicks, panel.spend, panel.clicks, mature=False)
        self.entities = panel.entities
        self._identities: dict[tuple[EntityLevel, tuple[str, ...]], dict[str, Any]] = {}
        self._names, self._account_names, self._currencies = (
            self.entities[c].to_numpy(dtype=object) for c in ("campaign_name", "account_name", "currency")
        )
        self.baseline_window = (panel.days[0], panel.days[panel.baseline_days - 1])
        # Groups per level: a code per campaign (-1: not pooled) and the keys, sorted.
        self.groups: dict[EntityLevel, tuple[np.ndarray, list[tuple[str, ...]]]] = {}
        for level, columns in GROUP_COLUMNS.items():
            labels = list(zip(*(self.entities[c].astype(str) for c in columns), strict=True))
            keys = sorted(set(labels))
            position = {k: i for i, k in enumerate(keys)}
            self.groups[level] = (np.array([position[k] for k in labels], dtype=int), keys)
        # Platform level needs comparable money: one currency, or fx rates for every campaign.
        self.fx = np.ones(panel.size)
        codes, keys = self.groups[EntityLevel.PLATFORM]
        excluded = []
        for g in range(len(keys)):
            rows = codes == g
            rates = self.entities["fx_rate"].to_numpy(dtype=float)[rows]
            currencies = {c for c in self.entities["currency"][rows] if c}
            if np.isfinite(rates).all() and (rates > 0).all():
                self.fx[rows] = rates
            elif len(currencies) > 1:
                excluded.append(g)
        if excluded:
            kept = [k for g, k in enumerate(keys) if g not in excluded]
            remap = {keys.index(k): i for i, k in enumerate(kept)}
            self.groups[EntityLevel.PLATFORM] = (np.array([remap.get(c, -1) for c in codes], dtype=int), kept)

    def wants_check(self, alert_type: AlertType, level: EntityLevel, key: tuple[str, ...]) -> bool:
        """Whether to build the check of a scope that passed (see ``evaluate_panel``)."""
        wanted = self.check_filter
        account = key[1] if len(key) > 1 else ""  # the scope is replay.scope_key's
        return wanted is None or wanted((alert_type.value, key[0], level.value, key[-1], account))

    def wanted_checks(self, alert_type: AlertType, level: EntityLevel) -> np.ndarray | None:
        """Per group of the level, whether its check is wanted (``None``: all are)."""
        if self.check_filter is None:
            return None
        _, keys = self.groups[level]
        return np.array([self.wants_check(alert_type, level, key) for key in keys], dtype=bool)

    def window_dates(self, length: int) -> tuple[date, date]:
        return (self.panel.as_of - timedelta(days=length), self.panel.as_of - timedelta(days=1))

    def model_ok(self, model: RateBaseline) -> np.ndarray:
        return (model.days_used >= self.config.min_baseline_days) & (model.rate > 0)

    def rows_for(self, level: EntityLevel, key: tuple[str, ...]) -> np.ndarray:
        codes, keys = self.groups[level]
        return codes == keys.index(key) if key in keys else np.zeros(self.panel.size, dtype=bool)

    def scopes(self, level: EntityLevel, key: tuple[str, ...]) -> list[tuple[str, str]]:
        if level == EntityLevel.PLATFORM:
            rows = self.entities[self.entities["platform"] == key[0]]
            return sorted({(key[0], a) for a in rows["account_id"]})
        return [(key[0], key[1])]

    def identity(self, level: EntityLevel, key: tuple[str, ...]) -> dict[str, Any]:
        """Alert fields naming the entity, and its currency (a copy: callers pop from it)."""
        # Every scored entity asks several times (one per test): filtering the frame each time was
        # most of a morning's cost.
        cached = self._identities.get((level, key))
        if cached is None:
            cached = self._identities[(level, key)] = self._identity(level, key)
        return dict(cached)

    def _identity(self, level: EntityLevel, key: tuple[str, ...]) -> dict[str, Any]:
        rows = self.rows_for(level, key)
        if level == EntityLevel.CAMPAIGN:
            name, entity_id, account_id, campaign_id = (
                str(self._names[rows][0]),
                key[2],
                key[1],
                key[2],
            )
        elif level == EntityLevel.ACCOUNT:
            named = [n for n in self._account_names[rows] if isinstance(n, str) and n]
            name, entity_id, account_id, campaign_id = (named[-1] if named else key[1]), key[1], key[1], None
        else:
            name, entity_id, account_id, campaign_id = key[0], key[0], None, None
        currencies = sorted({c for c in self._currencies[rows] if c})
        if level == EntityLevel.PLATFORM and len(currencies) > 1:
            currency = "reporting currency"
        else:
            currency = currencies[0] if len(currencies) == 1 else None
        return {
            "platform": key[0],
            "account_id": account_id,
            "entity_level": level,
            "entity_id": entity_id,
            "entity_name": name,
            "campaign_id": campaign_id,
            "currency": currency,
        }

    def describe(self, identity: dict[str, Any]) -> str:
        level = identity["entity_level"]
        if level == EntityLevel.CAMPAIGN:
            return f"Campaign '{identity['entity_name']}' ({identity['platform']} account {identity['account_id']})"
        if level == EntityLevel.ACCOUNT:
            return f"{identity['platform']} account '{identity['entity_name']}'"
        return f"All of {identity['platform']}"

    def signal_health(
        self, level: EntityLevel, key: tuple[str, ...], window: tuple[date, date]
    ) -> dict[str, Any]:
        return summarize(self.health, self.scopes(level, key), window, self.baseline_window)

    def daily_rows(
        self, rows: np.ndarray, length: int, numerator: np.ndarray, name: str, expected: np.ndarray | None
    ) -> list[dict[str, Any]]:
        """Day-by-day evidence of the window, summed over ``rows``."""
        cols = self.panel.window(length)
        days = self.panel.days[cols]
        out = []
        for j, day in enumerate(days):
            column = cols.start + j
            entry: dict[str, Any] = {
                "date": day.isoformat(),
                "spend": round6(self.panel.spend[rows, column].sum()),
                name: round6(numerator[rows, column].sum()),
            }
            if expected is not None:
                entry[f"expected_{name}"] = round6(expected[j])
            if rows.sum() == 1:
                entry["expected_maturity"] = float(self.panel.maturity[rows, column][0])
            out.append(entry)
        return out


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def round6(value: float) -> float:
    return round(float(value), 6)


def suffix(currency: str | None) -> str:
    return f" {currency}" if currency else ""
