"""Alerts people act on: seasonality-aware, robust detectors gated by signal health.

Pure logic (pandas and numpy; no Dagster, no database), usable from a notebook::

    from pipeline.analytics.alerting import detect_alerts, detect_hourly_alerts, active_alerts

    alerts = detect_alerts(campaign_daily, as_of=date(2026, 11, 15), budgets=dim_campaigns,
                           health=fct_signal_health_daily)
    for alert in active_alerts(alerts):
        print(alert.severity, alert.title)

Alert types (daily ones at campaign, account and platform level unless noted):

=================  ===================================================  ==========================
type               fires when                                           default thresholds
=================  ===================================================  ==========================
ZERO_CONVERSIONS   the last days spent without a single conversion     >= 8 expected, >= 50 spent;
                   (held as inconclusive from 2 expected)               escalates as days accumulate
ROAS_DROP          conversion value per spend below its expected level  -30 % and z 3
CPA_SPIKE          spend per conversion above its expected level        +50 % and z 3
CTR_DROP           clicks per impression below its expected level       -30 % and 3 sd
CPC_SPIKE          spend per click above its expected level (daily),    +50 % and 3 sd;
                   or today so far vs the same hours (hourly)           hourly 1.5x and 3 sd
SPEND_PACING       spend vs the daily budget, or the lifetime budget    1 / 2 / 3 days: >= 135 /
                   paced evenly over the flight (campaign level)        125 / 120 %, <= 50 / 55 /
                                                                        60 % (vs the usual weekday
                                                                        level where it is further
                                                                        from the budget) and 3 of
                                                                        its own robust sds of log
                                                                        spend (``pacing_z``)
SPEND_SPIKE        hourly: spend so far today vs the same hours before  1.5x and 3 sd, >= 50 spent
DATA_STALE,        fct_signal_health_daily degraded / unhealthy for an  the mart's status; issue
DATA_INCOMPLETE,   account-day among the days the detector reads        checks name the type
DATA_INCONSISTENT  (baseline and scored days): freshness / completeness
                   / accuracy (account level, the days in evidence)
=================  ===================================================  ==========================

Rate tests score windows of the last 1 to 4 (ROAS, CPA) or 1 to 3 (CTR, CPC) complete days and need
money in the window (ROAS / CPA 100, CTR / CPC 50), volume in the baseline (20 conversions, 300
clicks) and in the window (5 expected conversions, 50 clicks). Every threshold is a field of
:class:`AlertConfig` named after its type (``roas_min_drop``, ``cpc_z``, ``pacing_over_ratio`` ...).

How a rate alert is decided:

1. Baseline: the 28 days before the scored period (the last 4 complete days), so no scored day
   trains its own baseline. Per weekday, the same weekday's ratio of sums, shrunk towards the
   all-days ratio only as far as the weekdays differ no more than noise would make them
   (empirical Bayes): a real weekend dip is expected on weekends and is not a drop. Baseline days
   far from the fit (> 3.5 robust sd; at most a quarter of them) are left out.
2. Expected value of the window: each day's weekday rate x its spend (impressions for CTR) x the
   share of its conversions already reported (``recent_maturity``: yesterday 85 %, then 91, 94,
   96, 97, 98 %: typical restatement, leaning towards under-correction).
3. Noise: the entity's robust day-to-day scatter (1.4826 x MAD of the baseline days' relative
   residuals; widened to Student's t, since a few weeks estimate it), scaled to the window and the
   baseline's own uncertainty, never below Poisson noise of the conversion / click counts, plus the
   uncertainty of the share of recent days still to be reported (``maturity_uncertainty``), and
   never below the scatter of the baseline's own windows of the same length (sums of 1-4
   consecutive days: overdispersed, drifting rates scatter more over a window than independent
   days would). Value is a sum of order values: its Poisson floor is compound Poisson (counts /
   (1 + the order values' cv^2) effective events).
   ROAS_DROP also fires on the value per conversion judged on its own noise (``value``: order
   values' robust cv^2 and skew), for value drops with steady conversions.
4. Fire when the shortfall is at least the type's minimum *and* significant: the window's count
   (conversions, clicks) is modelled as gamma-Poisson with the expected count as mean and that
   noise as relative variance, and its exact lower tail must be at most the one-sided normal tail
   of ``z`` (3: 0.13 %, 2.75: 0.3 %) shared among the windows tested (``window_multiplicity``:
   Bonferroni, so four windows do not fire four times as often by chance); the normal
   approximation would be far too strict for small counts. Money and volume floors apply (tiny campaigns do not page anyone). Of the windows that
   fire, the most significant one is reported.
5. Accounts and platforms pool their campaigns' observed and expected values (so pausing a good
   campaign is not an account drop, and many small drops add up). A platform whose accounts use
   several currencies is scored only when ``campaign_daily`` has an ``fx_rate`` column.
6. Combining: ZERO_CONVERSIONS > ROAS_DROP > CPA_SPIKE on one entity keeps the first (the others
   are listed in its evidence as ``related_signals``); a CPC_SPIKE whose CPA rose with it becomes
   the entity's CPA_SPIKE (``driver: cpc``), which then speaks before a ROAS drop; a held,
   inconclusive ZERO_CONVERSIONS yields to a ROAS / CPA alert. A broader alert with >= 3 narrower ones of
   its family carries them (they are held: "rolled up into ..."); with 1 or 2 it is held as
   "explained by" them.
7. Gating: an alert whose window touches a degraded / unhealthy day of its account(s) is held
   (``suppressed_reason``) and a DATA_* alert says what is wrong with the data. A degraded day
   older than the scored days (say a missing day two weeks ago) raises the DATA_* alert too, one
   severity level lower: it holds no business alert, baselines skip days without data.

Lifecycle: :func:`evaluate_alerts` / :func:`evaluate_hourly_alerts` return a :class:`Detection`:
the alerts plus the checks that *passed* (:class:`Check`: a type and entity scored on complete,
healthy data that did not fire). ``app.alerts`` updates the live alert of a re-detected scope and
resolves the live alert of a passed one; anything not scored (missing rows, too little volume,
unhealthy data, facts behind) is left as it is.

Replay: :func:`replay_alerts` scores every morning of a range in order with the lifecycle applied
(opened, updated, auto-resolved, held), from one read of the marts: the alert history a user
running the detector every morning would have had, and the would-have-fired table of
``adsignal alerts backtest`` (:func:`history_frame`, :func:`summary_frame`; :func:`replay_rules`
for the user rules over the same days). :func:`alert_config` / :func:`load_alert_config` validate
overrides of :class:`AlertConfig` (a mapping, or a YAML file).

Severity: the shortfall (share of the expected performance lost: from 50 % MEDIUM, from 80 %
HIGH, else LOW) moved by the money at stake (window spend; for pacing the amount over / under
budget; for hourly spend the excess): below 100 one level down, from 1,000 one up, from 5,000 two
up. Data alerts start at MEDIUM (degraded) or HIGH (unhealthy).

Every alert's ``evidence`` holds the metric, value, baseline, threshold, window, baseline period,
daily figures, the thresholds used and a ``signal_health`` summary of the data it was computed
from. ``python -m pipeline.bench.alerts`` (``make bench-alerts``) measures precision, recall and
detection delay on sandbox incidents next to a plain 3-sigma z-score detector.
"""

from pipeline.analytics.alerting.backtest import history_frame, replay_rules, summary_frame
from pipeline.analytics.alerting.daily import active_alerts, detect_alerts, evaluate_alerts, roll_up
from pipeline.analytics.alerting.frames import REQUIRED_COLUMNS
from pipeline.analytics.alerting.hourly import (
    HOURLY_REQUIRED_COLUMNS,
    detect_hourly_alerts,
    evaluate_hourly_alerts,
)
from pipeline.analytics.alerting.model import (
    DAILY_ALERT_TYPES,
    DATA_ALERT_TYPES,
    HOURLY_ALERT_TYPES,
    SEVERITY_ORDER,
    Alert,
    AlertConfig,
    AlertType,
    Check,
    Detection,
    EntityLevel,
    Severity,
)
from pipeline.analytics.alerting.replay import (
    AlertConfigError,
    AlertEpisode,
    AlertLifecycle,
    Replay,
    alert_config,
    load_alert_config,
    replay_alerts,
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
    "AlertConfigError",
    "AlertEpisode",
    "AlertLifecycle",
    "AlertType",
    "Check",
    "Detection",
    "EntityLevel",
    "Replay",
    "Severity",
    "active_alerts",
    "alert_config",
    "detect_alerts",
    "detect_hourly_alerts",
    "evaluate_alerts",
    "evaluate_hourly_alerts",
    "history_frame",
    "load_alert_config",
    "replay_alerts",
    "replay_rules",
    "roll_up",
    "summary_frame",
]
