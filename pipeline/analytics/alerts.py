"""Campaign, account and platform alerts: the public entry point (see ``pipeline.analytics.alerting``).

``detect_alerts`` scores the daily facts (ROAS_DROP, CPA_SPIKE, ZERO_CONVERSIONS, CTR_DROP,
SPEND_PACING, gated by signal health with DATA_* alerts), ``detect_hourly_alerts`` the intraday
facts (SPEND_SPIKE, CPC_SPIKE). Both are pure: frames in, :class:`Alert` records out.
``evaluate_alerts`` / ``evaluate_hourly_alerts`` also return the checks that passed, which the
alert lifecycle in ``app.alerts`` resolves live alerts with.
"""

from __future__ import annotations

from pipeline.analytics.alerting import (
    DAILY_ALERT_TYPES,
    DATA_ALERT_TYPES,
    HOURLY_ALERT_TYPES,
    HOURLY_REQUIRED_COLUMNS,
    REQUIRED_COLUMNS,
    SEVERITY_ORDER,
    Alert,
    AlertConfig,
    AlertType,
    Check,
    Detection,
    EntityLevel,
    Severity,
    active_alerts,
    detect_alerts,
    detect_hourly_alerts,
    evaluate_alerts,
    evaluate_hourly_alerts,
)

__all__ = [
    "DAILY_ALERT_TYPES",
    "DATA_ALERT_TYPES",
    "HOURLY_ALERT_TYPES",
    "HOURLY_REQUIRED_COLUMNS",
    "REQUIRED_COLUMNS",
    "SEVERITY_ORDER",
    "Alert",
    "AlertConfig",
    "AlertType",
    "Check",
    "Detection",
    "EntityLevel",
    "Severity",
    "active_alerts",
    "detect_alerts",
    "detect_hourly_alerts",
    "evaluate_alerts",
    "evaluate_hourly_alerts",
]
