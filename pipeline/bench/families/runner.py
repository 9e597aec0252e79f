"""Run a scenario family: every morning of the period, the adsignal detector and the 3-sigma
z-score on what was reported then, scored with the family's own compatible alert types."""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from pipeline.analytics.alerting import AlertConfig, active_alerts, detect_alerts
from pipeline.bench.alerts import (
    HISTORY_DAYS,
    QUICK,
    BenchConfig,
    Detection,
    InjectedIncident,
    score,
    zscore_alerts,
)
from pipeline.bench.alerts import run as run_sandbox
from pipeline.bench.families import compound, funnel, retail

FAMILIES: dict[str, ModuleType] = {"compound": compound, "funnel": funnel, "retail": retail}
DETECTORS = ("adsignal", "zscore_3sigma")


@dataclass(frozen=True)
class FamilyConfig:
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    accounts_per_platform: int = 2
    campaigns_per_account: int = 40
    period_days: int = 42
    end: date = date(2026, 6, 28)
    incident_days: tuple[int, int] = (3, 7)


QUICK_FAMILY = FamilyConfig(seeds=(1,), campaigns_per_account=15, period_days=21)


def run_family(
    name: str,
    config: FamilyConfig,
    bench: BenchConfig,
    alert_config: AlertConfig,
    progress: bool = False,
) -> dict[str, Any]:
    family = FAMILIES[name]
    started = time.perf_counter()
    incidents: list[InjectedIncident] = []
    detections: list[Detection] = []
    campaign_days = 0
    for seed in config.seeds:
        world = family.generate(
            seed, config.end, config.period_days, HISTORY_DAYS + 30, config.campaigns_per_account,
            config.accounts_per_platform, bench.max_delay_days, config.incident_days,
        )  # fmt: skip
        incidents += world.incidents
        for offset in range(config.period_days - 1, -1, -1):
            as_of = config.end - timedelta(days=offset) + timedelta(days=1)
            frame = world.observed(as_of)
            yesterday = frame[frame["date_day"] == as_of - timedelta(days=1)]
            campaign_days += int((yesterday["spend"] > 0).sum())
            budgets = world.budgets(as_of)
            for alert in active_alerts(detect_alerts(frame, as_of, alert_config, budgets=budgets)):
                detections.append(
                    Detection(
                        seed, as_of, "adsignal", alert.alert_type.value, alert.entity_level.value,
                        alert.platform, alert.account_id, alert.campaign_id, alert.entity_id,
                        alert.window_start, alert.window_end,
                    )
                )  # fmt: skip
            for fired in zscore_alerts(frame, as_of, bench):
                platform, account_id, campaign_id = fired["key"]
                day = as_of - timedelta(days=1)
                detections.append(
                    Detection(seed, as_of, "zscore_3sigma", fired["alert_type"], "campaign", platform,
                              account_id, campaign_id, campaign_id, day, day)
                )  # fmt: skip
        if progress:
            print(f"{name} seed {seed}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    results = summarize(incidents, detections, campaign_days, bench, family.COMPATIBLE)
    results["held_out"] = family.HELD_OUT
    results["setup"] = {
        "family": name,
        "seeds": list(config.seeds),
        "campaigns_per_world": len(family.PLATFORMS)
        * config.accounts_per_platform
        * config.campaigns_per_account,
        "period_days": config.period_days,
        "incidents": len(incidents),
        "campaign_days": campaign_days,
        "compatible_types": {k: sorted(v) for k, v in family.COMPATIBLE.items()},
    }
    results["runtime_seconds"] = round(time.perf_counter() - started, 1)
    return results


def summarize(
    incidents: list[InjectedIncident],
    detections: list[Detection],
    campaign_days: int,
    bench: BenchConfig,
    compatible: dict[str, frozenset[str]],
) -> dict[str, Any]:
    """Scores per detector, recall per incident kind and per kind and size."""
    out: dict[str, Any] = {"detectors": {}, "by_kind": {}, "by_incident": {}, "incidents": {}}
    for detector in DETECTORS:
        scores, per_incident = score(detector, incidents, detections, campaign_days, bench, compatible)
        out["detectors"][detector] = scores.summary()
        out["incidents"][detector] = per_incident
        for key, group_of in (
            ("by_kind", lambda r: r["kind"]),
            ("by_incident", lambda r: f"{r['kind']} {r['size']}"),
        ):
            groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for row in per_incident:
                groups[group_of(row)].append(row)
            out[key][detector] = {
                group: {
                    "incidents": len(rows),
                    "detected": sum(r["detected"] for r in rows),
                    "recall": sum(r["detected"] for r in rows) / len(rows),
                    "median_delay_days": _median([r["delay"] for r in rows if r["detected"]]),
                }
                for group, rows in sorted(groups.items())
            }
    return out


def _median(values: list[int]) -> float | None:
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return float(values[middle]) if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def run_all(
    families: list[str],
    quick: bool,
    alert_config: AlertConfig,
    seeds: tuple[int, ...] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    bench = QUICK if quick else BenchConfig()
    family_config = QUICK_FAMILY if quick else FamilyConfig()
    if seeds:
        bench, family_config = replace(bench, seeds=seeds), replace(family_config, seeds=seeds)
    out: dict[str, Any] = {"families": {}}
    for name in families:
        if name == "sandbox":
            results = run_sandbox(bench, alert_config, progress=progress)
            results["held_out"] = False
        else:
            results = run_family(name, family_config, bench, alert_config, progress=progress)
        out["families"][name] = results
    out["alert_config_overrides"] = {
        f.name: getattr(alert_config, f.name)
        for f in fields(alert_config)
        if getattr(alert_config, f.name) != getattr(AlertConfig(), f.name)
    }
    out["goals"] = GOALS
    return out


# precision >= 0.9, recall >= 0.85, median delay <= 1 day, false alerts <= 0.1 per campaign-month;
# per incident kind, recall at least the z-score's.
GOALS = {"precision": 0.9, "recall": 0.85, "median_delay_days": 1, "false_alerts_per_campaign_month": 0.1}


def goals_met(results: dict[str, Any]) -> dict[str, bool]:
    mine = results["detectors"]["adsignal"]
    kinds = results["by_kind"]
    return {
        "precision": (mine["precision"] or 0) >= GOALS["precision"],
        "recall": (mine["recall"] or 0) >= GOALS["recall"],
        "median_delay_days": mine["median_delay_days"] is not None
        and mine["median_delay_days"] <= GOALS["median_delay_days"],
        "false_alerts_per_campaign_month": (mine["false_alerts_per_campaign_month"] or 0)
        <= GOALS["false_alerts_per_campaign_month"],
        "recall_per_kind_vs_zscore": all(
            row["recall"] >= kinds["zscore_3sigma"][kind]["recall"] for kind, row in kinds["adsignal"].items()
        ),
    }


def render(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    table = Table(
        title="Alert quality per scenario family (goal: P >= 0.9, R >= 0.85, delay <= 1, FA <= 0.1)"
    )
    for column in ("family", "detector", "precision", "recall", "median delay (d)", "false / campaign-month",
                   "alerts", "false", "detected"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("family", "detector") else "right")
    for name, family in results["families"].items():
        label = f"{name} (held out)" if family.get("held_out") else name
        for detector, s in family["detectors"].items():
            table.add_row(
                label, detector, _fmt(s["precision"]), _fmt(s["recall"]), _fmt(s["median_delay_days"], 1),
                _fmt(s["false_alerts_per_campaign_month"], 3), str(s["alerts"]), str(s["false_alerts"]),
                f"{s['detected']}/{s['incidents']}",
            )  # fmt: skip
    console.print(table)
    kinds = Table(title="Recall per incident kind: adsignal vs 3-sigma z-score (median delay, days)")
    for column in ("family", "kind", "adsignal", "zscore_3sigma"):
        kinds.add_column(column, justify="left" if column in ("family", "kind") else "right")
    for name, family in results["families"].items():
        for kind, row in family["by_kind"]["adsignal"].items():
            z = family["by_kind"]["zscore_3sigma"][kind]
            kinds.add_row(name, kind, _cell(row), _cell(z))
    console.print(kinds)
    for name, family in results["families"].items():
        met = goals_met(family)
        missed = [goal for goal, ok in met.items() if not ok]
        console.print(f"{name}: {'all goals met' if not missed else 'goals missed: ' + ', '.join(missed)}; "
                      f"false alerts by type {family['detectors']['adsignal']['false_alerts_by_type']}; "
                      f"runtime {family['runtime_seconds']}s")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.alerts",
        description="Alert quality on several scenario families: adsignal vs a plain 3-sigma z-score.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one seed, small worlds, three weeks (smoke test)"
    )
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--seeds", help="comma-separated seeds (default 1-5; quick: 1)")
    parser.add_argument(
        "--family", default=",".join(["sandbox", *FAMILIES]),
        help=f"comma-separated families (default: all of sandbox,{','.join(FAMILIES)})",
    )  # fmt: skip
    parser.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE",
        help="override an AlertConfig field for a sensitivity run, e.g. --set roas_z=2.5",
    )  # fmt: skip
    args = parser.parse_args(argv)
    families = [f.strip() for f in args.family.split(",") if f.strip()]
    unknown = [f for f in families if f != "sandbox" and f not in FAMILIES]
    if unknown:
        parser.error(f"unknown family {', '.join(unknown)}")
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name.strip()] = ast.literal_eval(value.strip())
    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else None
    results = run_all(families, args.quick, AlertConfig(**overrides), seeds, progress=not args.quick)
    render(results)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


def _cell(row: dict[str, Any]) -> str:
    delay = f" ({_fmt(row['median_delay_days'], 1)})" if row["median_delay_days"] is not None else ""
    return f"{row['detected']}/{row['incidents']} = {row['recall']:.2f}{delay}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"
