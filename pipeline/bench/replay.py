"""Replay cost: every morning of a long range in one replay, against N separate detector runs.

    python -m pipeline.bench.replay [--mornings 120] [--campaigns-per-account 20] [--out FILE]

A sandbox world (5 platforms x 2 accounts x 20 campaigns = 200 campaigns by default) with a dozen
injected incidents; its campaign-days for the mornings' range and the 32 days before, as the marts
hold them when read on the last morning (restatement of the newest days included), with budgets
and signal health (the world's missing days degraded). Timed in the same process, one after the
other:

- ``replay``: :func:`replay_alerts` over every morning: one frame, inputs prepared once, only the
  checks that can resolve a live alert built (what the ``app/alerts`` asset and ``adsignal alerts
  backtest`` run);
- ``replay_all_checks``: the same with every passed check built (what it costs to keep them);
- ``separate``: one :func:`evaluate_alerts` per morning on that morning's 35 days, the way a daily
  run reads and scores them (no database time in either: both start from frames in memory).

Then, unless ``--no-db``, the same frames in the marts of a scratch PostgreSQL database
(``DATABASE_URL`` or the embedded server), and what ``app/alerts`` costs end to end (no Dagster):

- ``db_backfill``: one range run, :func:`replay_daily_alerts` (one read of the marts, the replay,
  the history written to ``app.alerts``);
- ``db_daily_runs``: one run per morning as the daily asset did before range runs replayed: read
  that morning's 35 days, budgets and signal health, :func:`evaluate_alerts`, ``sync_alerts``.

Each replayed morning must equal its separate run (same alerts, same evidence; checked on the
``replay_all_checks`` run), and both database paths must leave the same alerts (type, entity,
status, detection count). Wall and CPU seconds are reported with the speed-ups. The machine may be
shared: CPU seconds (this process; the database server's work is in the wall time) are steadier.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analytics.alerting import AlertConfig, evaluate_alerts, replay_alerts
from pipeline.bench.alerts import budgets_frame
from pipeline.sandbox.simulator import PLATFORMS, Incident, Scenario, World

INCIDENT_KINDS = (("tracking_break", 0.0), ("cvr_drop", 0.4), ("cpc_spike", 2.0), ("overspend", 2.0))
SEPARATE_HISTORY_DAYS = 35  # what the daily asset reads for one morning


@dataclass(frozen=True)
class BenchConfig:
    mornings: int = 120
    platforms: tuple[str, ...] = PLATFORMS
    accounts_per_platform: int = 2
    campaigns_per_account: int = 20
    incidents: int = 12
    end: date = date(2026, 6, 28)  # the last complete day; the last morning is the day after
    seed: int = 11


def simulate(config: BenchConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Campaign-days, budgets and signal health as read the morning after ``config.end``."""
    span = AlertConfig().baseline_days + AlertConfig().scored_days
    since = config.end - timedelta(days=config.mornings + span)
    world = World(
        Scenario(
            seed=config.seed,
            today=config.end,
            history_days=config.mornings + span + 30,
            platforms=config.platforms,
            accounts_per_platform=config.accounts_per_platform,
            campaigns_per_account=config.campaigns_per_account,
        )
    )
    rng = np.random.default_rng(config.seed)
    campaigns = [c for p in world.platforms for c in world.campaigns(p)]
    for i in range(config.incidents):
        kind, magnitude = INCIDENT_KINDS[i % len(INCIDENT_KINDS)]
        campaign = campaigns[int(rng.integers(len(campaigns)))]
        start = config.end - timedelta(days=int(rng.integers(5, config.mornings)))
        end = start + timedelta(days=int(rng.integers(2, 6)))
        world.add_incident(
            Incident(kind, campaign.platform, campaign.account_id, campaign.id, start, end, magnitude)
        )
    last_morning = config.end + timedelta(days=1)
    world.now = datetime(last_morning.year, last_morning.month, last_morning.day, 6, tzinfo=UTC)
    ads = pd.concat([world.metrics_frame(p, since, config.end) for p in world.platforms], ignore_index=True)
    metrics = ["spend", "impressions", "clicks", "conversions", "conversion_value"]
    daily = (
        ads.groupby(["platform", "account_id", "campaign_id", "date"], sort=True)[metrics].sum().reset_index()
    )
    daily = daily.rename(columns={"date": "date_day"})
    daily["campaign_name"] = [
        world.campaign(p, c).name for p, c in zip(daily["platform"], daily["campaign_id"], strict=True)
    ]
    currency = {(p, a.id): a.currency for p in world.platforms for a in world.accounts(p)}
    daily["currency"] = [
        currency[(p, a)] for p, a in zip(daily["platform"], daily["account_id"], strict=True)
    ]
    health = pd.DataFrame(
        [
            {"date_day": day, "platform": p, "account_id": a.id, "status": "degraded" if missing else "healthy",
             "health_score": 60.0 if missing else 100.0, "completeness_score": 20.0 if missing else 100.0,
             "freshness_score": 100.0, "accuracy_score": 100.0,
             "issues": [{"check": "completeness_missing_day", "detail": "no rows"}] if missing else []}
            for p in world.platforms
            for a in world.accounts(p)
            for day in (since + timedelta(days=i) for i in range((config.end - since).days + 1))
            for missing in [world.is_missing_day(a, day)]
        ]
    )  # fmt: skip
    return daily, budgets_frame(world, last_morning), health


def _timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(config: BenchConfig, with_db: bool = True) -> dict[str, Any]:
    frame, budgets, health = simulate(config)
    first_day = config.end - timedelta(days=config.mornings - 1)
    reported = config.end + timedelta(days=1)  # the frame is as read on the last morning
    replay, replay_wall, replay_cpu = _timed(
        lambda: replay_alerts(frame, first_day, config.end, budgets=budgets, health=health)
    )
    full, full_wall, full_cpu = _timed(
        lambda: replay_alerts(frame, first_day, config.end, budgets=budgets, health=health, checks="all")
    )

    def separately() -> list[Any]:
        out = []
        for as_of, _ in full.mornings:
            since = as_of - timedelta(days=SEPARATE_HISTORY_DAYS)
            window = frame[(frame["date_day"] >= since) & (frame["date_day"] < as_of)]
            days = health[(health["date_day"] >= since) & (health["date_day"] < as_of)]
            out.append(evaluate_alerts(window, as_of, budgets=budgets, health=days))
        return out

    separate, separate_wall, separate_cpu = _timed(separately)
    identical = all(
        [(a, a.evidence) for a in mine.alerts] == [(a, a.evidence) for a in theirs.alerts]
        and mine.cleared == theirs.cleared
        for (_, mine), theirs in zip(full.mornings, separate, strict=True)
    )
    history = replay.to_frame()
    mornings = len(replay.mornings)
    results = {
        "config": {**asdict(config), "end": config.end.isoformat()},
        "campaigns": int(frame.groupby(["platform", "account_id", "campaign_id"]).ngroups),
        "mornings": mornings,
        "campaign_days_read": len(frame),
        "data_reported_as_of": reported.isoformat(),
        "alerts_opened": len(history),
        "alerts_reaching_people": int((history["status"] != "held").sum()),
        "alert_detections": int(sum(len(d.alerts) for _, d in replay.mornings)),
        "each_replayed_morning_equals_a_separate_run": identical,
        "seconds": {
            "replay": {"wall": round(replay_wall, 2), "cpu": round(replay_cpu, 2)},
            "replay_all_checks": {"wall": round(full_wall, 2), "cpu": round(full_cpu, 2)},
            "separate": {"wall": round(separate_wall, 2), "cpu": round(separate_cpu, 2)},
        },
        "ms_per_morning": {
            "replay": round(1000 * replay_cpu / mornings, 1),
            "separate": round(1000 * separate_cpu / mornings, 1),
        },
        "speedup_vs_separate": {
            "wall": round(separate_wall / replay_wall, 2),
            "cpu": round(separate_cpu / replay_cpu, 2),
        },
        "goal_under_60s_wall": replay_wall < 60,
    }
    if with_db:
        results["database"] = run_on_database(frame, budgets, health, first_day, config.end)
    return results


# --- end to end on PostgreSQL ----------------------------------------------------------------------

MARTS = """
create schema if not exists marts;
create table marts.fct_campaign_performance_daily (
    date_day date, platform text, account_id text, campaign_id text, campaign_name text, currency text,
    fx_rate numeric, spend numeric, impressions bigint, clicks bigint, conversions numeric,
    conversion_value numeric, tenant_id text not null default 'default');
create index on marts.fct_campaign_performance_daily (date_day);
create table marts.dim_campaigns (
    platform text, account_id text, campaign_id text, status text, daily_budget numeric,
    lifetime_budget numeric, start_date date, end_date date, is_inferred boolean, tenant_id text not null default 'default');
create table marts.fct_signal_health_daily (
    date_day date, platform text, account_id text, health_score numeric, status text,
    freshness_score numeric, completeness_score numeric, accuracy_score numeric, issues jsonb, tenant_id text not null default 'default');
"""


def run_on_database(
    frame: pd.DataFrame, budgets: pd.DataFrame, health: pd.DataFrame, first_day: date, last_day: date
) -> dict[str, Any]:
    import os

    import psycopg
    from psycopg.types.json import Jsonb

    from pipeline.config import settings
    from pipeline.warehouse import db, migrate
    from pipeline.warehouse.alert_history_store import replay_daily_alerts
    from pipeline.warehouse.alerts_store import DAILY_DETECTOR, sync_alerts
    from pipeline.warehouse.marts_store import (
        campaign_budgets_frame,
        campaign_daily_frame,
        signal_health_frame,
    )

    admin_url = os.environ.get("DATABASE_URL") or db._start_embedded(settings().embedded_pg_dir)
    name = f"adsignal_bench_replay_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    url = db.ensure_database(admin_url, name)
    try:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(MARTS)
            with conn.cursor().copy(
                "copy marts.fct_campaign_performance_daily (date_day, platform, account_id, campaign_id,"
                " campaign_name, currency, fx_rate, spend, impressions, clicks, conversions, conversion_value) from stdin"
            ) as copy:
                for row in frame.itertuples(index=False):
                    copy.write_row((row.date_day, row.platform, row.account_id, row.campaign_id,
                                    row.campaign_name, row.currency, None, row.spend, int(row.impressions),
                                    int(row.clicks), row.conversions, row.conversion_value))  # fmt: skip
            conn.cursor().executemany(
                "insert into marts.dim_campaigns values (%s, %s, %s, %s, %s, %s, %s, %s, false)",
                [(r.platform, r.account_id, r.campaign_id, r.status, r.daily_budget, r.lifetime_budget,
                  r.budget_start, r.budget_end) for r in budgets.itertuples(index=False)],
            )  # fmt: skip
            conn.cursor().executemany(
                "insert into marts.fct_signal_health_daily values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(r.date_day, r.platform, r.account_id, r.health_score, r.status, r.freshness_score,
                  r.completeness_score, r.accuracy_score, Jsonb(r.issues)) for r in health.itertuples(index=False)],
            )  # fmt: skip
        alerts = "select alert_type, entity_level, entity_id, status, detection_count from app.alerts order by 1, 2, 3, 4, 5"

        def backfill() -> list[tuple[Any, ...]]:
            with psycopg.connect(url) as conn:
                replay_daily_alerts(conn, first_day, last_day, tenant_id="default", run_id="bench")
                return conn.execute(alerts).fetchall()

        def daily_runs() -> list[tuple[Any, ...]]:
            with psycopg.connect(url) as conn:
                for offset in range((last_day - first_day).days + 1):
                    day = first_day + timedelta(days=offset)
                    as_of, since = day + timedelta(days=1), day - timedelta(days=SEPARATE_HISTORY_DAYS - 1)
                    detection = evaluate_alerts(
                        campaign_daily_frame(conn, since, day),
                        as_of,
                        budgets=campaign_budgets_frame(conn),
                        health=signal_health_frame(conn, since, day),
                    )
                    sync_alerts(
                        conn,
                        detection,
                        tenant_id="default",
                        run_id=None,
                        detector=DAILY_DETECTOR,
                        as_of=as_of,
                    )
                    conn.commit()
                return conn.execute(alerts).fetchall()

        replayed, backfill_wall, backfill_cpu = _timed(backfill)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("delete from app.alerts; delete from app.alert_watermarks")
        separate, daily_wall, daily_cpu = _timed(daily_runs)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
    return {
        "server": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded pgserver",
        "seconds": {
            "db_backfill": {"wall": round(backfill_wall, 2), "cpu": round(backfill_cpu, 2)},
            "db_daily_runs": {"wall": round(daily_wall, 2), "cpu": round(daily_cpu, 2)},
        },
        "speedup_vs_daily_runs": {
            "wall": round(daily_wall / backfill_wall, 2),
            "cpu": round(daily_cpu / backfill_cpu, 2),
        },
        # Daily runs see each morning's data as reported then would: the backfill does not discount
        # matured days, so the two histories may differ where a recent day decided; counted here.
        "alerts_backfill": len(replayed),
        "alerts_daily_runs": len(separate),
        "same_alerts": replayed == separate,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mornings", type=int, default=BenchConfig.mornings)
    parser.add_argument("--campaigns-per-account", type=int, default=BenchConfig.campaigns_per_account)
    parser.add_argument("--no-db", action="store_true", help="Skip the end-to-end runs on PostgreSQL.")
    parser.add_argument("--out", type=Path, default=None, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    config = BenchConfig(mornings=args.mornings, campaigns_per_account=args.campaigns_per_account)
    results = run(config, with_db=not args.no_db)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0 if results["each_replayed_morning_equals_a_separate_run"] else 1


if __name__ == "__main__":
    sys.exit(main())
