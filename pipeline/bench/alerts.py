"""Alert quality on sandbox incidents: the adsignal detector next to a plain 3-sigma z-score.

    python -m pipeline.bench.alerts [--quick] [--out FILE] [--seeds 1,2,3]

Each seed builds a sandbox world (more campaigns than the default scenario), injects incidents of
several kinds and sizes on known campaigns and dates, then rolls ``as_of`` day by day over the
period: every day both detectors see exactly what the platforms report that morning (recent
conversions still restating), the adsignal detector also the campaigns' budgets.

Matching. An incident is *detected* when an alert of a compatible type (``COMPATIBLE``) on its
campaign, or on its account / platform, has a window overlapping the incident, first raised no
later than ``max_delay_days`` after the first day the incident could be seen (its first day
complete). The *delay* is the days between that first chance and the first such alert (0 = the
morning after the first affected day). Alerts raised on consecutive mornings (gaps up to
``episode_gap_days``) for one entity and type are one alert, as ``app.alerts`` keeps one live
alert per entity and type; an alert is a *true* one when its first window overlaps a compatible
incident of its scope, otherwise it is *false*. False alerts are counted per campaign-month of
delivering campaigns. Held alerts (signal health, roll-ups) never reach people and do not count.

Incidents are injected on campaigns with enough volume to be in the detector's scope (at least
``min_conversions_per_day`` conversions and ``min_spend_per_day`` spend a day before the period);
the z-score baseline has no volume floor of its own. Results depend on the simulator: its
conversion counts are less noisy than real Poisson counts, while the adsignal detector still
assumes Poisson noise at least, so its delays on small campaigns are conservative here.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analytics.alerting import AlertConfig, active_alerts, detect_alerts
from pipeline.sandbox.simulator import PLATFORMS, Incident, Scenario, World

# Alert types that legitimately follow from each incident kind (the z-score's CONVERSIONS_DROP is
# its plain "conversions below normal").
COMPATIBLE: dict[str, frozenset[str]] = {
    "tracking_break": frozenset({"ZERO_CONVERSIONS", "ROAS_DROP", "CPA_SPIKE", "CONVERSIONS_DROP"}),
    "cvr_drop": frozenset({"ROAS_DROP", "CPA_SPIKE", "ZERO_CONVERSIONS", "CONVERSIONS_DROP"}),
    # Dearer clicks buy fewer conversions for the same spend.
    "cpc_spike": frozenset({"CPC_SPIKE", "ROAS_DROP", "CPA_SPIKE", "CONVERSIONS_DROP"}),
    # Spend far past the response curve's sweet spot also lowers ROAS.
    "overspend": frozenset({"SPEND_PACING", "SPEND_SPIKE", "ROAS_DROP", "CPA_SPIKE"}),
    "underdelivery": frozenset({"SPEND_PACING", "CONVERSIONS_DROP"}),
}
# (kind, magnitude, label); underdelivery is the simulator's `overspend` with a factor below 1.
INCIDENT_SIZES: tuple[tuple[str, float, str], ...] = (
    ("tracking_break", 0.0, "no conversions"),
    ("cvr_drop", 0.3, "-70%"),
    ("cvr_drop", 0.5, "-50%"),
    ("cvr_drop", 0.65, "-35%"),
    ("cpc_spike", 3.0, "x3"),
    ("cpc_spike", 2.0, "x2"),
    ("cpc_spike", 1.5, "x1.5"),
    ("overspend", 3.0, "x3"),
    ("overspend", 2.0, "x2"),
    ("overspend", 1.5, "x1.5"),
    ("underdelivery", 0.25, "x0.25"),
    ("underdelivery", 0.5, "x0.5"),
)
METRICS = ("spend", "impressions", "clicks", "conversions", "conversion_value")
VOLUME_BANDS = ("< 10", "10-20", "20-40", ">= 40")
HISTORY_DAYS = 35  # days of facts passed to the detectors for each as_of


@dataclass(frozen=True)
class BenchConfig:
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    platforms: tuple[str, ...] = PLATFORMS
    accounts_per_platform: int = 2
    campaigns_per_account: int = 20
    period_days: int = 42
    end: date = date(2026, 6, 28)
    incidents_per_size: int = 2
    account_wide_incidents: int = 1  # whole-account tracking breaks per world
    incident_days: tuple[int, int] = (3, 7)  # duration range, inclusive
    max_delay_days: int = 3
    episode_gap_days: int = 2
    min_conversions_per_day: float = 5.0
    min_spend_per_day: float = 50.0
    zscore_window_days: int = 14
    zscore_threshold: float = 3.0


QUICK = BenchConfig(seeds=(1,), platforms=("meta", "tiktok"), period_days=21, incidents_per_size=1)


@dataclass(frozen=True)
class InjectedIncident:
    seed: int
    kind: str
    size: str
    platform: str
    account_id: str
    campaign_id: str | None
    start: date
    end: date
    conversions_per_day: float  # truth, the two weeks before the period
    spend_per_day: float

    @property
    def first_chance(self) -> date:
        """The first as_of that can see the incident: its first day complete."""
        return self.start + timedelta(days=1)


@dataclass(frozen=True)
class Detection:
    seed: int
    as_of: date
    detector: str
    alert_type: str
    entity_level: str
    platform: str
    account_id: str | None
    campaign_id: str | None
    entity_id: str
    window_start: date
    window_end: date


@dataclass
class Scores:
    incidents: int = 0
    detected: int = 0
    delays: list[int] = field(default_factory=list)
    alerts: int = 0
    true_alerts: int = 0
    false_alerts: int = 0
    campaign_days: int = 0
    false_by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def summary(self) -> dict[str, Any]:
        months = self.campaign_days / 30.0
        return {
            "incidents": self.incidents,
            "detected": self.detected,
            "recall": _ratio(self.detected, self.incidents),
            "alerts": self.alerts,
            "true_alerts": self.true_alerts,
            "false_alerts": self.false_alerts,
            "precision": _ratio(self.true_alerts, self.alerts),
            "median_delay_days": statistics.median(self.delays) if self.delays else None,
            "mean_delay_days": statistics.fmean(self.delays) if self.delays else None,
            "campaign_months": round(months, 2),
            "false_alerts_per_campaign_month": _ratio(self.false_alerts, months),
            "false_alerts_by_type": dict(sorted(self.false_by_type.items())),
        }


# --- world, incidents, observed facts ------------------------------------------------------------


def build_world(seed: int, config: BenchConfig) -> tuple[World, list[InjectedIncident]]:
    scenario = Scenario(
        seed=seed,
        today=config.end,
        history_days=config.period_days + HISTORY_DAYS + 30,
        platforms=config.platforms,
        accounts_per_platform=config.accounts_per_platform,
        campaigns_per_account=config.campaigns_per_account,
    )
    world = World(scenario)
    rng = np.random.default_rng(seed * 7919 + 17)
    period_start = config.end - timedelta(days=config.period_days - 1)
    # Starts leave a clean week before, and room to detect (and recover) before the period ends.
    first_start = period_start + timedelta(days=3)
    last_start = config.end - timedelta(days=config.max_delay_days + 1)
    accounts = [(p, a.id) for p in world.platforms for a in world.accounts(p)]
    order = rng.permutation(len(accounts))
    wide_accounts = [accounts[i] for i in order[: config.account_wide_incidents]]
    eligible = [
        c
        for c in _eligible_campaigns(world, period_start, config)
        if (c.platform, c.account_id) not in set(wide_accounts)
    ]
    eligible = [eligible[i] for i in rng.permutation(len(eligible))]

    incidents: list[InjectedIncident] = []

    def window() -> tuple[date, date]:
        start = first_start + timedelta(days=int(rng.integers(0, (last_start - first_start).days + 1)))
        length = int(rng.integers(config.incident_days[0], config.incident_days[1] + 1))
        return start, start + timedelta(days=length - 1)

    volumes = _volumes(world, period_start)
    for platform, account_id in wide_accounts:
        start, end = window()
        world.add_incident(Incident("tracking_break", platform, account_id, None, start, end, 0.0))
        account = volumes[(volumes["platform"] == platform) & (volumes["account_id"] == account_id)]
        incidents.append(
            InjectedIncident(
                seed, "tracking_break", "whole account", platform, account_id, None, start, end,
                float(account["conversions"].sum()), float(account["spend"].sum()),
            )
        )  # fmt: skip
    plan = [size for size in INCIDENT_SIZES for _ in range(config.incidents_per_size)]
    for (kind, magnitude, label), campaign in zip(plan, eligible, strict=False):
        start, end = window()
        sim_kind = "overspend" if kind == "underdelivery" else kind
        world.add_incident(
            Incident(sim_kind, campaign.platform, campaign.account_id, campaign.id, start, end, magnitude)
        )
        volume = volumes[volumes["campaign_id"] == campaign.id]
        incidents.append(
            InjectedIncident(
                seed, kind, label, campaign.platform, campaign.account_id, campaign.id, start, end,
                float(volume["conversions"].sum()), float(volume["spend"].sum()),
            )
        )  # fmt: skip
    return world, incidents


def _volumes(world: World, period_start: date) -> pd.DataFrame:
    """Mean daily spend and conversions per campaign (truth) over the two weeks before the period."""
    since, until = period_start - timedelta(days=14), period_start - timedelta(days=1)
    truth = pd.concat([world.metrics_frame(p, since, until, truth=True) for p in world.platforms])
    keys = ["platform", "account_id", "campaign_id"]
    volumes = truth.groupby(keys, as_index=False)[["spend", "conversions"]].sum()
    volumes[["spend", "conversions"]] /= 14
    return volumes


def _eligible_campaigns(world: World, period_start: date, config: BenchConfig) -> list[Any]:
    """Campaigns delivering through the period with enough volume (truth, the two weeks before)."""
    since = period_start - timedelta(days=14)
    per_campaign = _volumes(world, period_start).set_index("campaign_id")
    out = []
    for platform in world.platforms:
        for campaign in world.campaigns(platform):
            if campaign.paused_on is not None or campaign.start_date > since - timedelta(days=HISTORY_DAYS):
                continue
            if campaign.end_date is not None and campaign.end_date <= config.end:
                continue
            if campaign.id not in per_campaign.index:
                continue
            volume = per_campaign.loc[campaign.id]
            if (
                volume["conversions"] >= config.min_conversions_per_day
                and volume["spend"] >= config.min_spend_per_day
            ):
                out.append(campaign)
    return out


def observed_campaign_days(world: World, as_of: date) -> pd.DataFrame:
    """What the platforms report on the morning of ``as_of``, rolled up to campaign-days."""
    moment = datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=UTC)  # as_of in every sandbox tz
    frames = []
    for platform in world.platforms:
        for account in world.accounts(platform):
            campaigns = world.campaigns(platform, account.id)
            ids = np.array([c.id for c in campaigns], dtype=object)
            names = np.array([c.name for c in campaigns], dtype=object)
            for offset in range(HISTORY_DAYS, 0, -1):
                day = as_of - timedelta(days=offset)
                delivery = world.account_day(platform, account.id, day, moment)
                if delivery is None or len(delivery) == 0:
                    continue
                positions = delivery.campaign_positions
                present = np.unique(positions)
                sums = {
                    m: np.bincount(positions, weights=getattr(delivery, m), minlength=len(campaigns))[present]
                    for m in METRICS
                }
                frames.append(
                    pd.DataFrame(
                        {
                            "date_day": day,
                            "platform": platform,
                            "account_id": account.id,
                            "campaign_id": ids[present],
                            "campaign_name": names[present],
                            "currency": account.currency,
                            **sums,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def budgets_frame(world: World, as_of: date) -> pd.DataFrame:
    """``dim_campaigns`` as of that morning: budgets and current status."""
    rows = []
    for platform in world.platforms:
        for campaign in world.campaigns(platform):
            lifetime = campaign.lifetime_budget is not None
            rows.append(
                {
                    "platform": platform,
                    "account_id": campaign.account_id,
                    "campaign_id": campaign.id,
                    "daily_budget": None if lifetime else campaign.daily_budget,
                    "lifetime_budget": campaign.lifetime_budget,
                    "budget_start": campaign.start_date,
                    "budget_end": campaign.end_date,
                    "status": world.campaign_status(campaign, as_of),
                }
            )
    return pd.DataFrame(rows)


# --- the plain baseline --------------------------------------------------------------------------


def zscore_alerts(campaign_daily: pd.DataFrame, as_of: date, config: BenchConfig) -> list[dict[str, Any]]:
    """Per campaign and metric: yesterday vs the mean and sd of the trailing window, |z| > 3 in
    the bad direction. No seasonality, no maturity, no volume floor."""
    yesterday = as_of - timedelta(days=1)
    since = yesterday - timedelta(days=config.zscore_window_days)
    frame = campaign_daily[
        (campaign_daily["date_day"] >= since) & (campaign_daily["date_day"] <= yesterday)
    ].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["roas"] = frame["conversion_value"] / frame["spend"]
        frame["cpa"] = frame["spend"] / frame["conversions"]
        frame["ctr"] = frame["clicks"] / frame["impressions"]
        frame["cpc"] = frame["spend"] / frame["clicks"]
    frame = frame.replace([np.inf, -np.inf], np.nan)
    checks = (
        ("roas", -1, "ROAS_DROP"),
        ("cpa", 1, "CPA_SPIKE"),
        ("conversions", -1, "CONVERSIONS_DROP"),
        ("ctr", -1, "CTR_DROP"),
        ("cpc", 1, "CPC_SPIKE"),
        ("spend", 1, "SPEND_PACING"),
        ("spend", -1, "SPEND_PACING"),
    )
    history = frame[frame["date_day"] < yesterday]
    last = frame[frame["date_day"] == yesterday].set_index(["platform", "account_id", "campaign_id"])
    stats = history.groupby(["platform", "account_id", "campaign_id"]).agg(
        **{
            f"{m}_{s}": (m, s)
            for m in ("roas", "cpa", "conversions", "ctr", "cpc", "spend")
            for s in ("mean", "std", "count")
        }
    )
    joined = last.join(stats, how="inner")
    out = []
    for metric, direction, alert_type in checks:
        enough = (joined[f"{metric}_count"] >= 7) & (joined[f"{metric}_std"] > 0)
        z = (joined[metric] - joined[f"{metric}_mean"]) / joined[f"{metric}_std"]
        fired = joined[enough & (direction * z > config.zscore_threshold)]
        for key in fired.index:
            out.append({"alert_type": alert_type, "key": key})
    return out


# --- running and scoring -------------------------------------------------------------------------


def run_seed(
    seed: int, config: BenchConfig, alert_config: AlertConfig
) -> tuple[list[InjectedIncident], list[Detection], int]:
    world, incidents = build_world(seed, config)
    detections: list[Detection] = []
    campaign_days = 0
    for offset in range(config.period_days - 1, -1, -1):
        as_of = config.end - timedelta(days=offset) + timedelta(days=1)
        frame = observed_campaign_days(world, as_of)
        yesterday = frame[frame["date_day"] == as_of - timedelta(days=1)]
        campaign_days += int((yesterday["spend"] > 0).sum())
        for alert in active_alerts(
            detect_alerts(frame, as_of, alert_config, budgets=budgets_frame(world, as_of))
        ):
            detections.append(
                Detection(
                    seed, as_of, "adsignal", alert.alert_type.value, alert.entity_level.value, alert.platform,
                    alert.account_id, alert.campaign_id, alert.entity_id, alert.window_start, alert.window_end,
                )
            )  # fmt: skip
        for fired in zscore_alerts(frame, as_of, config):
            platform, account_id, campaign_id = fired["key"]
            yesterday_day = as_of - timedelta(days=1)
            detections.append(
                Detection(
                    seed, as_of, "zscore_3sigma", fired["alert_type"], "campaign", platform, account_id,
                    campaign_id, campaign_id, yesterday_day, yesterday_day,
                )
            )  # fmt: skip
    return incidents, detections, campaign_days


def _matches(
    detection: Detection, incident: InjectedIncident, compatible: dict[str, frozenset[str]] = COMPATIBLE
) -> bool:
    if detection.seed != incident.seed or detection.platform != incident.platform:
        return False
    if detection.alert_type not in compatible[incident.kind]:
        return False
    if detection.entity_level == "campaign":
        in_scope = detection.campaign_id == incident.campaign_id or (
            incident.campaign_id is None and detection.account_id == incident.account_id
        )
    elif detection.entity_level == "account":
        in_scope = detection.account_id == incident.account_id
    else:
        in_scope = True
    return in_scope and detection.window_start <= incident.end and detection.window_end >= incident.start


def episodes(detections: Iterable[Detection], gap_days: int) -> list[Detection]:
    """The first detection of each alert episode (same entity and type on close mornings)."""
    by_scope: dict[tuple[Any, ...], list[Detection]] = defaultdict(list)
    for d in detections:
        by_scope[(d.seed, d.detector, d.alert_type, d.entity_level, d.platform, d.entity_id)].append(d)
    firsts = []
    for scope in sorted(by_scope, key=str):
        previous: date | None = None
        for d in sorted(by_scope[scope], key=lambda x: x.as_of):
            if previous is None or (d.as_of - previous).days > gap_days:
                firsts.append(d)
            previous = d.as_of
    return firsts


def score(
    detector: str,
    incidents: Sequence[InjectedIncident],
    detections: Sequence[Detection],
    campaign_days: int,
    config: BenchConfig,
    compatible: dict[str, frozenset[str]] = COMPATIBLE,
) -> tuple[Scores, list[dict[str, Any]]]:
    """Recall and delay per incident, precision and false alerts per alert episode; ``compatible``:
    the alert types that count for each incident kind (the scenario family's)."""
    mine = [d for d in detections if d.detector == detector]
    scores = Scores(incidents=len(incidents), campaign_days=campaign_days)
    per_incident = []
    for incident in incidents:
        delays = [
            (d.as_of - incident.first_chance).days
            for d in mine
            if _matches(d, incident, compatible) and d.as_of >= incident.first_chance
        ]
        delay = min(delays) if delays else None
        detected = delay is not None and delay <= config.max_delay_days
        if detected:
            scores.detected += 1
            scores.delays.append(delay)
        per_incident.append(
            {
                "seed": incident.seed,
                "kind": incident.kind,
                "size": incident.size,
                "platform": incident.platform,
                "account_id": incident.account_id,
                "campaign_id": incident.campaign_id,
                "start": incident.start.isoformat(),
                "end": incident.end.isoformat(),
                "conversions_per_day": round(incident.conversions_per_day, 1),
                "spend_per_day": round(incident.spend_per_day, 1),
                "detected": detected,
                "delay": delay,
            }
        )
    for first in episodes(mine, config.episode_gap_days):
        scores.alerts += 1
        if any(_matches(first, incident, compatible) for incident in incidents):
            scores.true_alerts += 1
        else:
            scores.false_alerts += 1
            scores.false_by_type[first.alert_type] += 1
    return scores, per_incident


def run(
    config: BenchConfig, alert_config: AlertConfig | None = None, progress: bool = False
) -> dict[str, Any]:
    alert_config = alert_config or AlertConfig()
    started = time.perf_counter()
    incidents: list[InjectedIncident] = []
    detections: list[Detection] = []
    campaign_days = 0
    for seed in config.seeds:
        seed_incidents, seed_detections, seed_days = run_seed(seed, config, alert_config)
        incidents += seed_incidents
        detections += seed_detections
        campaign_days += seed_days
        if progress:
            print(
                f"seed {seed}: {len(seed_incidents)} incidents, {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )

    results: dict[str, Any] = {"detectors": {}, "by_incident": {}, "by_volume": {}, "incidents": {}}
    for detector in ("adsignal", "zscore_3sigma"):
        scores, per_incident = score(detector, incidents, detections, campaign_days, config)
        results["detectors"][detector] = scores.summary()
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in per_incident:
            groups[f"{row['kind']} {row['size']}"].append(row)
        results["incidents"][detector] = per_incident
        results.setdefault("by_kind", {})[detector] = _by_kind(per_incident)
        results["by_incident"][detector] = {
            name: {
                "incidents": len(rows),
                "detected": sum(r["detected"] for r in rows),
                "median_delay_days": _median([r["delay"] for r in rows if r["detected"]]),
            }
            for name, rows in groups.items()
        }
        bands: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in per_incident:
            bands[_volume_band(row["conversions_per_day"])].append(row)
        results["by_volume"][detector] = {
            band: {"incidents": len(bands[band]), "detected": sum(r["detected"] for r in bands[band])}
            for band in VOLUME_BANDS
            if bands[band]
        }
    results["setup"] = {
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "end": config.end.isoformat(),
        "campaigns_per_world": len(config.platforms)
        * config.accounts_per_platform
        * config.campaigns_per_account,
        "incidents": len(incidents),
        "campaign_days": campaign_days,
        "alert_config_overrides": {
            f.name: getattr(alert_config, f.name)
            for f in fields(alert_config)
            if getattr(alert_config, f.name) != getattr(AlertConfig(), f.name)
        },
        "matching": {
            "compatible_types": {k: sorted(v) for k, v in COMPATIBLE.items()},
            "max_delay_days": config.max_delay_days,
            "episode_gap_days": config.episode_gap_days,
        },
    }
    results["runtime_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Every scenario family (sandbox and the independent ones): see ``pipeline.bench.families``."""
    from pipeline.bench.families.runner import main as run_families

    return run_families(argv)


def _by_kind(per_incident: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Recall and median delay per incident kind."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in per_incident:
        groups[row["kind"]].append(row)
    return {
        kind: {
            "incidents": len(rows),
            "detected": sum(r["detected"] for r in rows),
            "recall": sum(r["detected"] for r in rows) / len(rows),
            "median_delay_days": _median([r["delay"] for r in rows if r["detected"]]),
        }
        for kind, rows in sorted(groups.items())
    }


def _volume_band(conversions_per_day: float) -> str:
    if conversions_per_day < 10:
        return "< 10"
    if conversions_per_day < 20:
        return "10-20"
    return "20-40" if conversions_per_day < 40 else ">= 40"


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


if __name__ == "__main__":
    raise SystemExit(main())
