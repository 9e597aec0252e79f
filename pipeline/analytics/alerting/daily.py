"""Daily business alerts: ROAS_DROP, CPA_SPIKE, ZERO_CONVERSIONS, CTR_DROP, CPC_SPIKE, SPEND_PACING.

See :func:`detect_alerts` for the contract and the package docstring for the method. The tests
live in ``rates`` (ROAS, CPA, CTR, CPC), ``zero`` (ZERO_CONVERSIONS) and ``pacing``; ``combine``
keeps one alert per cause, rolls narrower alerts up and gates on signal health.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from pipeline.analytics.alerting.combine import (
    account_facts,
    gate,
    gate_check,
    keep_most_specific,
    roll_up,
)
from pipeline.analytics.alerting.context import Context
from pipeline.analytics.alerting.frames import (
    Budget,
    HealthIndex,
    Panel,
    build_panel,
    prepare_budgets,
    prepare_health,
)
from pipeline.analytics.alerting.health import data_alerts, data_checks
from pipeline.analytics.alerting.model import (
    DAILY_ALERT_TYPES,
    DATA_ALERT_TYPES,
    Alert,
    AlertConfig,
    AlertType,
    Check,
    Detection,
    EntityLevel,
    sort_key,
)
from pipeline.analytics.alerting.pacing import pacing_alerts
from pipeline.analytics.alerting.rates import attribute_cpc, rate_alerts, rate_specs
from pipeline.analytics.alerting.zero import zero_conversion_alerts


def detect_alerts(
    campaign_daily: pd.DataFrame,
    as_of: date,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
    *,
    budgets: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
) -> list[Alert]:
    """Score campaigns, accounts and platforms as of ``as_of``; return alerts with evidence.

    ``campaign_daily``: one row per campaign and day (``marts.fct_campaign_performance_daily``)
    with date_day, platform, account_id, campaign_id, campaign_name, spend, impressions, clicks,
    conversions, conversion_value; optional currency, account_name, and fx_rate (account currency
    → reporting currency, needed for platform-level money metrics across currencies). Pass at least
    ``baseline_days + scored_days`` (32) days before ``as_of``; 35 is comfortable.

    ``as_of`` is the first incomplete day: days before it are complete, later rows are ignored.

    ``budgets`` (optional, ``marts.dim_campaigns``): platform, account_id, campaign_id,
    daily_budget, lifetime_budget, budget_start / budget_end (or start_date / end_date), status.
    Without it SPEND_PACING cannot fire.

    ``health`` (optional, ``marts.fct_signal_health_daily``): date_day, platform, account_id,
    status ('healthy' | 'degraded' | 'unhealthy'), health_score, freshness_score,
    completeness_score, accuracy_score, issues (list of {"check", "detail"}). Business alerts whose
    window touches a degraded or unhealthy day of their account are returned held
    (``suppressed_reason``), and DATA_STALE / DATA_INCOMPLETE / DATA_INCONSISTENT alerts are
    raised for those accounts.

    Every scored window must have a row for each of its days (a missing day is a data problem,
    not a business alert). Alerts come sorted: active first, then severity (highest first), type,
    platform, account, level, entity; the same input always yields the same list. Use
    :func:`active_alerts` to keep the ones meant for people.
    """
    return evaluate_alerts(campaign_daily, as_of, config, budgets=budgets, health=health).alerts


def evaluate_alerts(
    campaign_daily: pd.DataFrame,
    as_of: date,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
    *,
    budgets: pd.DataFrame | None = None,
    health: pd.DataFrame | None = None,
) -> Detection:
    """:func:`detect_alerts` plus what the alert lifecycle needs: the checks that passed.

    Same inputs. ``Detection.alerts`` is exactly what :func:`detect_alerts` returns;
    ``Detection.cleared`` lists every (type, entity) the detector scored on complete, healthy data
    without firing (the evidence that a live alert of that scope recovered); ``alert_types`` the
    types this run evaluated (DATA_* only when ``health`` is given).
    """
    return evaluate_panel(
        build_panel(campaign_daily, as_of, config), config, prepare_health(health), prepare_budgets(budgets)
    )


def evaluate_panel(
    panel: Panel,
    config: AlertConfig,
    health_index: HealthIndex | None,
    budget_index: dict[tuple[str, str, str], Budget],
    check_filter: Callable[[tuple[str, str, str, str, str]], bool] | None = None,
) -> Detection:
    """:func:`evaluate_alerts` on inputs already prepared (``frames.build_panel``,
    ``prepare_health``, ``prepare_budgets``): the replay prepares them once for many mornings.

    ``check_filter``: which passed checks to build, by scope (alert type, platform, entity level,
    entity id, account or ''); a replay builds only those that can resolve a live alert. Default: all."""
    as_of = panel.as_of
    enabled = set(config.alert_types)

    fired: list[Alert] = []
    cleared: list[Check] = []
    if panel.size:
        context = Context(panel, config, health_index, budget_index, check_filter)
        if AlertType.ZERO_CONVERSIONS in enabled:
            alerts, passed = zero_conversion_alerts(context)
            fired += alerts
            cleared += passed
        for spec in rate_specs(config):
            if spec.alert_type in enabled:
                alerts, passed = rate_alerts(context, spec)
                fired += alerts
                cleared += passed
        if AlertType.SPEND_PACING in enabled and EntityLevel.CAMPAIGN in config.levels:
            alerts, passed = pacing_alerts(context)
            fired += alerts
            cleared += passed
        # A scope whose data is not healthy over the scored days was not really scored.
        scored_period = context.window_dates(config.scored_days)
        cleared = [c for c in cleared if not gate_check(c, context, scored_period)]
        if {AlertType.CPC_SPIKE, AlertType.CPA_SPIKE} <= enabled:
            fired = attribute_cpc(context, fired)
        fired = keep_most_specific(fired)
        fired = roll_up(fired, config)
        fired = gate(fired, context)

    spend, currency, names = account_facts(panel)
    alerts = fired + data_alerts(health_index, as_of, config, spend, currency, names)
    cleared += data_checks(health_index, as_of, config)
    types = tuple(t for t in DAILY_ALERT_TYPES if t in enabled)
    if health_index is not None:
        types += tuple(sorted(DATA_ALERT_TYPES))
    return Detection(
        alerts=sorted(alerts, key=sort_key),
        cleared=sorted(
            cleared,
            key=lambda c: (
                c.alert_type.value,
                c.platform,
                c.entity_level.value,
                c.account_id or "",
                c.entity_id,
            ),
        ),
        alert_types=types,
    )


def active_alerts(alerts: list[Alert]) -> list[Alert]:
    """The alerts meant for people: not held by signal health or roll-ups."""
    return [a for a in alerts if a.suppressed_reason is None]
