"""Replay: the daily detector over every morning of a range, with the alert lifecycle applied.

A *morning* is the as-of of a daily run: it scores the complete days before it. A replay over the
complete days ``first_day``..``last_day`` (the daily partitions) scores the mornings after each of
them, in order, and carries the lifecycle of ``app.alerts`` from one to the next: an alert opens
the first morning it is detected, is updated while it is detected again, and resolves the first
morning a check of its scope passes on complete, healthy data; anything not scored leaves it as it
is. The result is the alert history a user running the detector every morning would have had::

    from pipeline.analytics.alerting import replay_alerts

    replay = replay_alerts(campaign_daily, date(2026, 7, 1), date(2026, 10, 28),
                           budgets=dim_campaigns, health=fct_signal_health_daily)
    replay.to_frame()   # one row per alert that would have fired: first / last day, evidence
    replay.summary()    # alerts per type and severity

The inputs are read and prepared once (budgets and signal health indexed once, one campaign x day
panel over all the mornings' days, sliced per morning), and every morning runs exactly the
detector a single :func:`evaluate_alerts` call would run on the same days: a replay morning equals
a separate run. Passed checks are built only where they can resolve a live alert, and with them
the alert thresholds of the entities that pass (most of a morning's work in a separate run).

Maturity: a separate run discounts its most recent days for conversions still to be reported. A
replay over data read later should not (those days have matured since); ``reported_as_of`` is the
morning the data was read, and each day's expected maturity follows its age then. Left out, every
morning is scored as if its data had been read that morning (exactly N separate runs).
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import TypeAdapter, ValidationError

from pipeline.analytics.alerting.daily import evaluate_panel
from pipeline.analytics.alerting.frames import PanelSeries, prepare_budgets, prepare_health
from pipeline.analytics.alerting.model import (
    SEVERITY_ORDER,
    Alert,
    AlertConfig,
    Check,
    Detection,
    Severity,
)

# (alert type, platform, entity level, entity id): what app.alerts keeps one live alert per.
ScopeKey = tuple[str, str, str, str, str]


def scope_key(item: Alert | Check) -> ScopeKey:
    """(type, platform, level, entity id, account or ''): ids are unique only within an account."""
    return (
        item.alert_type.value,
        item.platform,
        item.entity_level.value,
        item.entity_id,
        item.account_id or "",
    )


# --- the lifecycle ---------------------------------------------------------------------------------


@dataclass
class AlertEpisode:
    """One alert as ``app.alerts`` keeps it: opened one morning, updated on the mornings it is
    detected again, resolved the morning a check of its scope passes (or still live).

    ``alert`` is the latest detection (what the stored alert shows) and ``first_alert`` the one
    that opened it; both are ``None`` for an alert carried over from before the replay and not
    detected again. ``ref`` is the stored alert it continues (the store's id), ``closed_by`` the
    stored alert a person resolved by hand, which ended it.
    """

    key: ScopeKey
    mornings: list[date] = field(default_factory=list)
    alert: Alert | None = None
    first_alert: Alert | None = None
    window_start: date | None = None
    peak_severity: Severity | None = None
    first_active_on: date | None = None  # the first morning it was not held (it reached people)
    resolved_on: date | None = None
    recovery: Check | None = None
    ref: Hashable | None = None
    closed_by: Hashable | None = None

    def detected(self, morning: date, alert: Alert) -> None:
        if not self.mornings or morning > self.mornings[-1]:
            self.mornings.append(morning)
        self.alert = alert
        self.first_alert = self.first_alert or alert
        self.window_start = alert.window_start
        if alert.suppressed_reason is None and self.first_active_on is None:
            self.first_active_on = morning
        if self.peak_severity is None or SEVERITY_ORDER.index(alert.severity) > SEVERITY_ORDER.index(
            self.peak_severity
        ):
            self.peak_severity = alert.severity

    @property
    def is_live(self) -> bool:
        return self.resolved_on is None and self.closed_by is None

    @property
    def opened_on(self) -> date | None:
        """The morning it opened (``None``: carried over without known mornings)."""
        return self.mornings[0] if self.mornings else None

    @property
    def held(self) -> str | None:
        """Why the latest detection is held back (signal health, roll-up), or ``None``."""
        return self.alert.suppressed_reason if self.alert else None


class AlertLifecycle:
    """The lifecycle of one producer's alerts in memory, applied morning by morning.

    Same rules as ``pipeline.warehouse.alerts_store.sync_alerts``: every alert updates the live
    episode of its scope or opens one; every passed check of a type the run evaluated resolves the
    live episode of its scope (a data check only one whose days it re-examined, ``covers_since``).
    ``carried``: episodes live before the first morning. ``closures``: (morning, scope, ref) of
    alerts a person resolved after that morning's run; the live episode of the scope ends there.
    """

    def __init__(
        self,
        carried: Iterable[AlertEpisode] = (),
        closures: Iterable[tuple[date, ScopeKey, Hashable]] = (),
    ) -> None:
        self.episodes: list[AlertEpisode] = []
        self.live: dict[ScopeKey, AlertEpisode] = {}
        for episode in carried:
            self.episodes.append(episode)
            self.live[episode.key] = episode
        self._closures = sorted(closures, key=lambda c: c[0])

    def apply(self, morning: date, detection: Detection) -> None:
        self._close(before=morning)
        for alert in detection.alerts:
            key = scope_key(alert)
            episode = self.live.get(key)
            if episode is None:
                episode = self.live[key] = AlertEpisode(key)
                self.episodes.append(episode)
            episode.detected(morning, alert)
        owned = set(detection.alert_types)
        for check in detection.cleared:
            if check.alert_type not in owned:
                continue
            episode = self.live.get(scope_key(check))
            if episode is None:
                continue
            if check.covers_since is not None and (
                episode.window_start is None or episode.window_start < check.covers_since
            ):
                continue
            episode.resolved_on, episode.recovery = morning, check
            del self.live[episode.key]

    def finish(self) -> list[AlertEpisode]:
        """Apply the remaining closures; every episode, in the order they opened."""
        self._close(before=None)
        return self.episodes

    def _close(self, before: date | None) -> None:
        while self._closures and (before is None or self._closures[0][0] < before):
            _, key, ref = self._closures.pop(0)
            episode = self.live.pop(key, None)
            if episode is not None:
                episode.closed_by = ref


# --- the replay ------------------------------------------------------------------------------------


@dataclass
class Replay:
    """Every morning's detection, in order, and the alert history they make."""

    mornings: list[tuple[date, Detection]] = field(repr=False)
    history: list[AlertEpisode] = field(repr=False)
    config: AlertConfig = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per alert that would have fired (``backtest.history_frame``)."""
        from pipeline.analytics.alerting.backtest import history_frame  # it builds on this module

        return history_frame(self.history)

    def summary(self) -> pd.DataFrame:
        """Alerts per type and severity (``backtest.summary_frame``)."""
        from pipeline.analytics.alerting.backtest import summary_frame

        return summary_frame(self.history)


def mornings_of(first_day: date, last_day: date) -> list[date]:
    """The as-of mornings of the complete days first_day..last_day (each day's next morning)."""
    if last_day < first_day:
        raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
    return [first_day + timedelta(days=i + 1) for i in range((last_day - first_day).days + 1)]


def replay_alerts(
    campaign_daily: pd.DataFrame,
    first_day: date,
    last_day: date,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
    *,
    budgets: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
    reported_as_of: date | None = None,
    lifecycle: AlertLifecycle | None = None,
    checks: Literal["live", "all"] = "live",
) -> Replay:
    """Score the morning after each complete day ``first_day``..``last_day`` in order and apply
    the alert lifecycle from one morning to the next.

    Inputs as for :func:`evaluate_alerts`, covering the range and the ``baseline_days +
    scored_days`` (32) days before it. Budgets are today's for every morning (``dim_campaigns``
    keeps no history). ``reported_as_of``: see the module docstring. ``lifecycle``: where to
    continue from (the store passes the alerts live before the range); a fresh one by default.
    ``checks``: ``"live"`` builds only the passed checks that resolve a live alert (most of a
    morning's evidence is for scopes that are fine; the history is the same), ``"all"`` every one,
    as :func:`evaluate_alerts` returns them.
    """
    mornings = mornings_of(first_day, last_day)
    lifecycle = lifecycle or AlertLifecycle()
    health_index = prepare_health(health)
    budget_index = prepare_budgets(budgets)
    series = PanelSeries(campaign_daily, mornings[0], mornings[-1], config)
    out: list[tuple[date, Detection]] = []
    for as_of in mornings:
        panel = series.panel(as_of, reported_as_of)
        if checks == "all":
            detection = evaluate_panel(panel, config, health_index, budget_index)
        else:
            live = lifecycle.live
            detection = evaluate_panel(panel, config, health_index, budget_index, live.__contains__)
            detection = replace(detection, cleared=[c for c in detection.cleared if scope_key(c) in live])
        lifecycle.apply(as_of, detection)
        out.append((as_of, detection))
    return Replay(mornings=out, history=lifecycle.finish(), config=config)


# --- configuration overrides -----------------------------------------------------------------------

_CONFIG_FIELDS = tuple(f.name for f in fields(AlertConfig))


class AlertConfigError(ValueError):
    """An override file or mapping that does not make a valid :class:`AlertConfig`."""


def alert_config(overrides: Mapping[str, Any] | None, base: AlertConfig | None = None) -> AlertConfig:
    """``base`` (the defaults) with ``overrides`` (field name → value, as YAML or JSON would give
    them), validated: an unknown field, a value of the wrong type or out of range raises
    :class:`AlertConfigError` naming the field."""
    overrides = dict(overrides or {})
    unknown = [name for name in overrides if name not in _CONFIG_FIELDS]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), _CONFIG_FIELDS, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise AlertConfigError(f"unknown AlertConfig field {', '.join(hints)}")
    base = base or AlertConfig()
    merged = {name: getattr(base, name) for name in _CONFIG_FIELDS} | overrides
    try:
        return TypeAdapter(AlertConfig).validate_python(merged)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"])
            problems.append(f"{where}: {item['msg']}" if where else item["msg"].removeprefix("Value error, "))
        raise AlertConfigError("invalid AlertConfig: " + "; ".join(problems)) from None


def load_alert_config(path: str | Path) -> AlertConfig:
    """An :class:`AlertConfig` from a YAML file of overrides, e.g. ``roas_z: 3.0``."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AlertConfigError(f"{path}: not valid YAML ({error})") from None
    if loaded is None:
        return AlertConfig()
    if not isinstance(loaded, Mapping):
        raise AlertConfigError(
            f"{path}: expected a mapping of AlertConfig fields, got {type(loaded).__name__}"
        )
    try:
        return alert_config(loaded)
    except AlertConfigError as error:
        raise AlertConfigError(f"{path}: {error}") from None


def config_overrides(config: AlertConfig) -> dict[str, Any]:
    """The fields where ``config`` differs from the defaults (for reports)."""
    default = AlertConfig()
    return {
        name: getattr(config, name)
        for name in _CONFIG_FIELDS
        if getattr(config, name) != getattr(default, name)
    }
