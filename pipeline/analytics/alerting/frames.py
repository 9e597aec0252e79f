"""Input frames → typed arrays: the campaign-day panel, budgets and signal health."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analytics.alerting.model import AlertConfig

KEY_COLUMNS = ["platform", "account_id", "campaign_id"]
METRIC_COLUMNS = ["spend", "impressions", "clicks", "conversions", "conversion_value"]
REQUIRED_COLUMNS = ["date_day", *KEY_COLUMNS, "campaign_name", *METRIC_COLUMNS]
OPTIONAL_COLUMNS = ["currency", "fx_rate", "account_name"]

BUDGET_KEY_COLUMNS = KEY_COLUMNS
HEALTH_REQUIRED_COLUMNS = ["date_day", "platform", "account_id", "status"]
HEALTH_STATUSES = ("healthy", "degraded", "unhealthy")
HEALTH_SCORE_COLUMNS = ("health_score", "freshness_score", "completeness_score", "accuracy_score")


def to_float(series: pd.Series) -> np.ndarray:
    """Database numerics arrive as Decimal or None; nulls mean nothing was reported."""
    return pd.to_numeric(series.astype("float64"), errors="coerce").fillna(0.0).to_numpy(dtype=float)


def to_dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.date


@dataclass(frozen=True)
class Panel:
    """Campaign x day arrays over the baseline period followed by the scored period.

    Columns are the days ``days[0]`` .. ``as_of - 1``; the first ``baseline_days`` columns are the
    baseline, the last ``scored_days`` the scored period. A campaign-day without a row is zero with
    ``has_row`` False (no delivery reported, or missing data: the health facts tell which).
    """

    as_of: date
    days: list[date]
    weekdays: np.ndarray
    baseline_days: int
    entities: pd.DataFrame  # one row per campaign, in array order
    spend: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    has_row: np.ndarray
    maturity: np.ndarray  # expected reported share of final conversions, per campaign-day

    @property
    def size(self) -> int:
        return len(self.entities)

    @property
    def baseline(self) -> slice:
        return slice(0, self.baseline_days)

    @property
    def scored(self) -> slice:
        return slice(self.baseline_days, len(self.days))

    def window(self, length: int) -> slice:
        return slice(len(self.days) - length, len(self.days))


def build_panel(
    campaign_daily: pd.DataFrame, as_of: date, config: AlertConfig, *, reported_as_of: date | None = None
) -> Panel:
    """The panel of the days before ``as_of``. ``reported_as_of``: the morning the data was read
    (default ``as_of``); a day's expected maturity follows its age then, so a replay of an old
    morning on data read later does not discount days that have had time to mature."""
    n_days = config.baseline_days + config.scored_days
    first_day = as_of - timedelta(days=n_days)
    days = [first_day + timedelta(days=i) for i in range(n_days)]
    frame = _rows_between(campaign_daily, first_day, as_of)

    empty = np.zeros((0, n_days))
    if frame.empty:
        entities = pd.DataFrame(
            columns=[*KEY_COLUMNS, "campaign_name", "currency", "fx_rate", "account_name"]
        )
        return Panel(as_of, days, _weekdays(days), config.baseline_days, entities, *(empty,) * 5,
                     empty.astype(bool), empty)  # fmt: skip

    frame = _sorted_named(frame)
    # One row per campaign (sorted): the latest name, currency and rate win.
    grouped = frame.groupby(KEY_COLUMNS, sort=True)
    entities = grouped["campaign_name"].last().rename("campaign_name").reset_index()
    for column, default in (("currency", None), ("fx_rate", np.nan), ("account_name", None)):
        if column in frame.columns:
            entities[column] = grouped[column].last().to_numpy()
        else:
            entities[column] = default
    entities["currency"] = [c if isinstance(c, str) and c else None for c in entities["currency"]]
    entities["fx_rate"] = pd.to_numeric(entities["fx_rate"].astype("float64"), errors="coerce")

    index = pd.MultiIndex.from_frame(entities[KEY_COLUMNS])
    rows = index.get_indexer(pd.MultiIndex.from_frame(frame[KEY_COLUMNS]))
    cols = np.array([(d - first_day).days for d in frame["date_day"]], dtype=int)
    shape = (len(entities), n_days)

    def accumulate(values: np.ndarray) -> np.ndarray:
        out = np.zeros(shape)
        np.add.at(out, (rows, cols), values)  # a campaign-day split over rows is summed
        return out

    has_row = np.zeros(shape, dtype=bool)
    has_row[rows, cols] = True
    maturity = _maturity(entities, days, reported_as_of or as_of, config)
    return Panel(
        as_of=as_of,
        days=days,
        weekdays=_weekdays(days),
        baseline_days=config.baseline_days,
        entities=entities,
        spend=accumulate(to_float(frame["spend"])),
        impressions=accumulate(to_float(frame["impressions"])),
        clicks=accumulate(to_float(frame["clicks"])),
        conversions=accumulate(to_float(frame["conversions"])),
        value=accumulate(to_float(frame["conversion_value"])),
        has_row=has_row,
        maturity=maturity,
    )


def _weekdays(days: list[date]) -> np.ndarray:
    return np.array([d.weekday() for d in days], dtype=int)


def _rows_between(campaign_daily: pd.DataFrame, first_day: date, until: date) -> pd.DataFrame:
    """The rows of days first_day..until (exclusive), dates parsed, keys as text."""
    missing = [c for c in REQUIRED_COLUMNS if c not in campaign_daily.columns]
    if missing:
        raise ValueError(f"campaign_daily lacks columns: {', '.join(missing)}")
    columns = REQUIRED_COLUMNS + [c for c in OPTIONAL_COLUMNS if c in campaign_daily.columns]
    frame = campaign_daily[columns].copy()
    frame["date_day"] = to_dates(frame["date_day"])
    frame = frame[(frame["date_day"] >= first_day) & (frame["date_day"] < until)]
    for column in KEY_COLUMNS:
        frame[column] = frame[column].astype(str)
    return frame


def _sorted_named(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted by campaign and day (stable), a campaign without a name named by its id."""
    frame = frame.copy()
    frame["campaign_name"] = frame["campaign_name"].where(
        frame["campaign_name"].notna(), frame["campaign_id"]
    )
    return frame.sort_values([*KEY_COLUMNS, "date_day"], kind="stable")


def _maturity(
    entities: pd.DataFrame, days: list[date], reported_as_of: date, config: AlertConfig
) -> np.ndarray:
    ages = np.array([(reported_as_of - d).days for d in days])
    maturity = np.ones((len(entities), len(days)))
    for platform in entities["platform"].unique():
        curve = np.array([config.maturity(int(a), platform) for a in ages])
        maturity[(entities["platform"] == platform).to_numpy()] = curve
    return maturity


class PanelSeries:
    """The panels of many mornings from one pass over the frame (a replay).

    One panel spans every day the mornings read; :meth:`panel` slices a morning's out of it, equal
    to what :func:`build_panel` builds for that morning: the campaigns with a row in its days, and
    each campaign's latest name, currency, rate and account name among those days.
    """

    DESCRIPTIVE = ("campaign_name", "currency", "fx_rate", "account_name")

    def __init__(
        self, campaign_daily: pd.DataFrame, first_as_of: date, last_as_of: date, config: AlertConfig
    ) -> None:
        self.config = config
        self.span = config.baseline_days + config.scored_days
        extra = (last_as_of - first_as_of).days
        wide_config = replace(config, baseline_days=config.baseline_days + extra)
        self.wide = build_panel(campaign_daily, last_as_of, wide_config)
        first_day = self.wide.days[0]
        n, n_days = self.wide.size, len(self.wide.days)
        frame = _sorted_named(_rows_between(campaign_daily, first_day, last_as_of))
        present = [c for c in self.DESCRIPTIVE if c in frame.columns]
        # Per campaign-day, the last non-null value of each descriptive column, and per column the
        # latest day (up to each day) that had one.
        self._values = {c: np.full((n, n_days), None, dtype=object) for c in present}
        self._latest = {}
        if n and len(frame):
            daily = frame.groupby([*KEY_COLUMNS, "date_day"], sort=False)[present].last().reset_index()
            index = pd.MultiIndex.from_frame(self.wide.entities[KEY_COLUMNS])
            rows = index.get_indexer(pd.MultiIndex.from_frame(daily[KEY_COLUMNS]))
            cols = np.array([(d - first_day).days for d in daily["date_day"]], dtype=int)
            for column in present:
                known = daily[column].notna().to_numpy()
                self._values[column][rows[known], cols[known]] = daily[column].to_numpy(dtype=object)[known]
                seen = np.full((n, n_days), -1)
                seen[rows[known], cols[known]] = cols[known]
                self._latest[column] = np.maximum.accumulate(seen, axis=1)

    def panel(self, as_of: date, reported_as_of: date | None = None) -> Panel:
        wide = self.wide
        stop = (as_of - wide.days[0]).days if wide.days else 0
        start = stop - self.span
        if start < 0 or stop > len(wide.days):
            raise ValueError(f"{as_of} is outside the mornings this series was built for")
        days = wide.days[start:stop]
        rows = wide.has_row[:, start:stop].any(axis=1) if wide.size else np.zeros(0, dtype=bool)
        entities = wide.entities.loc[rows, KEY_COLUMNS].reset_index(drop=True)
        for column, default in (("campaign_name", None), ("currency", None), ("fx_rate", np.nan),
                                ("account_name", None)):  # fmt: skip
            if column not in self._latest:
                entities[column] = default
                continue
            latest = self._latest[column][rows, stop - 1]
            found = latest >= start
            values = self._values[column][rows, np.where(found, latest, 0)]
            entities[column] = [v if ok else default for v, ok in zip(values, found, strict=True)]
        entities["currency"] = [c if isinstance(c, str) and c else None for c in entities["currency"]]
        entities["fx_rate"] = pd.to_numeric(entities["fx_rate"].astype("float64"), errors="coerce")
        sliced = {
            f.name: getattr(wide, f.name)[rows][:, start:stop]
            for f in fields(Panel)
            if f.name != "maturity"
            and isinstance(getattr(wide, f.name), np.ndarray)
            and getattr(wide, f.name).ndim == 2
        }
        return replace(
            wide,
            **sliced,
            as_of=as_of,
            days=days,
            weekdays=wide.weekdays[start:stop],
            baseline_days=self.config.baseline_days,
            entities=entities,
            maturity=_maturity(entities, days, reported_as_of or as_of, self.config),
        )


# --- budgets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    daily_budget: float | None
    lifetime_budget: float | None
    start: date | None
    end: date | None
    status: str | None

    def target(self, day: date) -> float | None:
        """What the campaign should spend on ``day``: the daily budget, or the lifetime budget
        spread evenly over the flight; ``None`` outside the flight or without a budget."""
        if (self.start and day < self.start) or (self.end and day > self.end):
            return None
        if self.daily_budget and self.daily_budget > 0:
            return self.daily_budget
        if self.lifetime_budget and self.lifetime_budget > 0 and self.start and self.end:
            return self.lifetime_budget / ((self.end - self.start).days + 1)
        return None

    @property
    def kind(self) -> str:
        return "daily" if self.daily_budget and self.daily_budget > 0 else "lifetime"

    @property
    def is_active(self) -> bool:
        return self.status is None or self.status.upper() in ("ACTIVE", "ENABLED", "ENABLE")


def prepare_budgets(budgets: pd.DataFrame | None) -> dict[tuple[str, str, str], Budget]:
    """Budgets per campaign from a ``dim_campaigns``-like frame.

    Columns: platform, account_id, campaign_id; daily_budget and/or lifetime_budget (account
    currency, major units); budget_start / budget_end (or start_date / end_date) for lifetime
    budgets; optional status (only ACTIVE / ENABLED or null campaigns are paced).
    """
    if budgets is None or budgets.empty:
        return {}
    missing = [c for c in BUDGET_KEY_COLUMNS if c not in budgets.columns]
    if missing:
        raise ValueError(f"budgets lacks columns: {', '.join(missing)}")

    def column(*names: str) -> pd.Series | None:
        return next((budgets[n] for n in names if n in budgets.columns), None)

    def amounts(series: pd.Series | None) -> list[float | None]:
        if series is None:
            return [None] * len(budgets)
        values = pd.to_numeric(series.astype("float64"), errors="coerce")
        return [None if math.isnan(v) else float(v) for v in values]

    def dates(series: pd.Series | None) -> list[date | None]:
        if series is None:
            return [None] * len(budgets)
        return [None if pd.isna(v) else pd.Timestamp(v).date() for v in series]

    status = column("status")
    out: dict[tuple[str, str, str], Budget] = {}
    for i, (platform, account_id, campaign_id, daily, lifetime, start, end) in enumerate(
        zip(
            budgets["platform"].astype(str),
            budgets["account_id"].astype(str),
            budgets["campaign_id"].astype(str),
            amounts(column("daily_budget")),
            amounts(column("lifetime_budget")),
            dates(column("budget_start", "start_date")),
            dates(column("budget_end", "end_date")),
            strict=True,
        )
    ):
        state = None if status is None or pd.isna(status.iloc[i]) else str(status.iloc[i])
        out[(platform, account_id, campaign_id)] = Budget(daily, lifetime, start, end, state)
    return out


# --- signal health -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthDay:
    day: date
    status: str  # healthy | degraded | unhealthy
    scores: dict[str, float | None]
    issues: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_degraded(self) -> bool:
        return self.status != "healthy"

    def as_evidence(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "status": self.status, **self.scores, "issues": self.issues}


HealthIndex = dict[tuple[str, str], dict[date, HealthDay]]


def prepare_health(health: pd.DataFrame | None) -> HealthIndex | None:
    """``fct_signal_health_daily`` rows by (platform, account_id) and day; ``None`` if not given."""
    if health is None:
        return None
    missing = [c for c in HEALTH_REQUIRED_COLUMNS if c not in health.columns]
    if missing:
        raise ValueError(f"health lacks columns: {', '.join(missing)}")
    out: HealthIndex = {}
    if health.empty:
        return out
    days = to_dates(health["date_day"])
    scores = {
        c: pd.to_numeric(health[c].astype("float64"), errors="coerce").to_numpy()
        for c in HEALTH_SCORE_COLUMNS
        if c in health.columns
    }
    issues = health["issues"] if "issues" in health.columns else pd.Series([None] * len(health))
    for i, (day, platform, account_id, status) in enumerate(
        zip(
            days,
            health["platform"].astype(str),
            health["account_id"].astype(str),
            health["status"],
            strict=True,
        )
    ):
        state = str(status).lower() if isinstance(status, str) else "healthy"
        if state not in HEALTH_STATUSES:
            raise ValueError(f"unknown signal health status {status!r}; expected one of {HEALTH_STATUSES}")
        row_scores = {c: (None if math.isnan(v[i]) else float(v[i])) for c, v in scores.items()}
        out.setdefault((platform, account_id), {})[day] = HealthDay(
            day, state, row_scores, _issues(issues.iloc[i])
        )
    return out


def _issues(value: Any) -> list[dict[str, Any]]:
    """Issues as a list of {"check", "detail"} dicts (jsonb arrives parsed or as text)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if isinstance(value, dict):
        value = [value]
    out = []
    for item in value:
        if isinstance(item, dict):
            out.append({"check": str(item.get("check", "")), "detail": str(item.get("detail", ""))})
        else:
            out.append({"check": str(item), "detail": ""})
    return out
