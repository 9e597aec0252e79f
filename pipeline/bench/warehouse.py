"""Warehouse benchmark: raw load throughput, dbt backfill and daily-run times, peak memory of a sync.

Every figure is measured against its baseline in the same run, on a scratch database (embedded
server, or ``DATABASE_URL``'s server) that is migrated first and dropped at the end (``--keep-db``
keeps it):

- **raw load throughput**: :func:`pipeline.warehouse.loader.replace_window` of the tier's
  Meta-shaped ad-day insights vs a bare ``COPY raw.meta_ads_insights_daily (keys, payload, _sync_id)``
  of the same rows into the same, freshly truncated table. Both read the same page generator and
  run in a child process each, so generation is paid equally; they alternate, best of
  ``--load-rounds`` each (goal: loader >= 0.7x COPY rows/s);
- **peak memory of a sync**: the loader child's own peak RSS (``VmHWM``), the COPY child's as its
  baseline (goal <= 500 MB);
- **backfill**: ``dbt build --exclude '*hourly*' --full-refresh`` (what the Dagster daily job builds:
  every non-hourly model and its tests) over the tier's history (goal for tier M: <= 240 s);
- **daily run**: re-sync of the newest day plus restatement of the 27 days before it (one
  ``replace_window`` per account, new values), then ``dbt build`` of the same selection with vars
  ``min_date``/``max_date`` = that window, passed as Dagster passes them (environment), leaving out the views and seeds
  unchanged since this database built them, as the dbt assets do (goal for tier M: <= 30 s); the
  JSON counts the nodes executed, splits dbt's node time into models and tests and names the slowest;
- **daily run vs history**: the daily run with 365 days of history against 30 days (goal <= 1.1x).
  Each history has its own database (the main one when the tier has that many days); their daily
  runs alternate, best of ``--history-rounds`` each, so load from other processes on a shared
  machine does not fall on one side only.

All data is Meta-shaped (the payload the Meta connector yields and ``stg_meta__ad_insights`` reads);
a tier's "platforms" are Meta ad accounts, one per platform slot. The other platforms' raw tables
exist, empty, so the dbt unions build. Rows are generated page by page, never held in memory.

    python -m pipeline.bench.warehouse [--tier XS|S|M] [--out FILE] [--keep-db] [--skip-dbt]
        [--history-days 365,30] [--history-rounds N] [--load-rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg

from pipeline.config import DBT_PROJECT_DIR, PROJECT_ROOT, executable, settings
from pipeline.warehouse.partitions import ensure_month_partitions

END = date(2025, 3, 31)  # the daily run's newest day; history ends the day before
RESTATE_DAYS = 28  # Meta's attribution window: the daily run re-syncs this many days (ending END)
PAGE_SIZE = 500  # the Meta connector's default page limit
PURCHASE = "offsite_conversion.fb_pixel_purchase"
# What the Dagster daily job builds (pipeline/defs/transform.py): every non-hourly model and its tests.
DBT_SELECTION = ("--exclude", "*hourly*")
# Issue 13's goals (the daily run costs its window, not the history).
GOALS = {
    "load_throughput_ratio": (">=", 0.7),
    "peak_rss_mb": ("<=", 500.0),
    "backfill_seconds": ("<=", 240.0),
    "daily_run_seconds": ("<=", 30.0),
    "daily_run_history_ratio": ("<=", 1.1),
}
GOAL_TIER = {"backfill_seconds": "M", "daily_run_seconds": "M"}  # absolute time goals are tier M's


@dataclass(frozen=True)
class Tier:
    name: str
    accounts: int  # "platforms": one Meta ad account each
    campaigns: int  # per account
    ads: int  # per campaign
    days: int

    @property
    def ads_total(self) -> int:
        return self.accounts * self.campaigns * self.ads

    @property
    def rows(self) -> int:
        return self.ads_total * self.days


TIERS = {
    "XS": Tier("XS", 1, 2, 2, 5),
    "S": Tier("S", 5, 20, 5, 90),
    "M": Tier("M", 5, 200, 10, 365),
}

# -- data ------------------------------------------------------------------------------------------

_LOCALES = (("USD", "America/New_York", -5), ("EUR", "Europe/Berlin", 1), ("GBP", "Europe/London", 0))
_WEEKLY = np.array([1.0, 1.05, 1.08, 1.04, 0.98, 0.85, 0.8])


def account_id(index: int) -> str:
    return str(100_000_000 + index)


class Generator:
    """Deterministic Meta-shaped payloads: entities per account, insights page by page.

    Per-ad rates are drawn once; each account-day's metrics are drawn vectorised over its ads from
    an rng seeded by (seed, account, day, version) — ``version`` > 0 gives restated values.
    """

    def __init__(self, tier: Tier, seed: int = 7) -> None:
        self.tier = tier
        self.seed = seed
        self.rows_generated = 0
        self._bases: list[list[dict[str, Any]]] = []
        self._rates: list[tuple[np.ndarray, ...]] = []
        for a in range(tier.accounts):
            acct = account_id(a)
            currency = _LOCALES[a % len(_LOCALES)][0]
            bases = []
            for c in range(tier.campaigns):
                campaign_id = f"{acct}{c:04d}"
                for k in range(tier.ads):
                    bases.append(
                        {
                            "account_id": acct,
                            "account_name": f"Bench account {a}",
                            "account_currency": currency,
                            "campaign_id": campaign_id,
                            "campaign_name": f"Campaign {c}",
                            "adset_id": f"{campaign_id}01",
                            "adset_name": f"Ad set {c}",
                            "ad_id": f"{campaign_id}01{k:03d}",
                            "ad_name": f"Ad {c}-{k}",
                        }
                    )
            rng = np.random.default_rng([seed, a])
            n = len(bases)
            self._bases.append(bases)
            self._rates.append(
                (
                    rng.lognormal(7.5, 0.8, n),  # impressions per day
                    rng.uniform(0.005, 0.03, n),  # ctr
                    rng.uniform(0.3, 2.0, n),  # cpc
                    rng.uniform(0.01, 0.08, n),  # cvr
                    rng.uniform(20, 120, n),  # order value
                )
            )

    def entities(self, stream: str, a: int) -> list[dict[str, Any]]:
        acct = account_id(a)
        currency, timezone, offset = _LOCALES[a % len(_LOCALES)]
        if stream == "ad_accounts":
            return [
                {
                    "id": f"act_{acct}",
                    "account_id": acct,
                    "name": f"Bench account {a}",
                    "currency": currency,
                    "timezone_name": timezone,
                    "timezone_offset_hours_utc": offset,
                    "account_status": 1,
                }
            ]
        bases = self._bases[a]
        if stream == "ads":
            return [
                {
                    "id": b["ad_id"],
                    "account_id": acct,
                    "campaign_id": b["campaign_id"],
                    "adset_id": b["adset_id"],
                    "name": b["ad_name"],
                    "status": "ACTIVE",
                    "effective_status": "ACTIVE",
                    "created_time": "2023-01-01T00:00:00+0000",
                }
                for b in bases
            ]
        campaigns = {b["campaign_id"]: b for b in bases}.values()
        if stream == "adsets":
            return [
                {
                    "id": b["adset_id"],
                    "account_id": acct,
                    "campaign_id": b["campaign_id"],
                    "name": b["adset_name"],
                    "status": "ACTIVE",
                    "effective_status": "ACTIVE",
                    "daily_budget": "5000",
                    "optimization_goal": "OFFSITE_CONVERSIONS",
                }
                for b in campaigns
            ]
        if stream == "campaigns":
            return [
                {
                    "id": b["campaign_id"],
                    "account_id": acct,
                    "name": b["campaign_name"],
                    "status": "ACTIVE",
                    "effective_status": "ACTIVE",
                    "objective": "OUTCOME_SALES",
                    "daily_budget": "10000",
                    "start_time": "2023-01-01T00:00:00+0000",
                    "created_time": "2023-01-01T00:00:00+0000",
                    "updated_time": "2023-01-01T00:00:00+0000",
                }
                for b in campaigns
            ]
        raise ValueError(stream)

    def pages(
        self, a: int, since: date, until: date, version: int = 0, page_size: int = PAGE_SIZE
    ) -> Iterator[list[dict[str, Any]]]:
        """Insights records of account ``a`` for ``since..until``, ``page_size`` records a page."""
        bases = self._bases[a]
        base_imp, ctr, cpc, cvr, aov = self._rates[a]
        n = len(bases)
        page: list[dict[str, Any]] = []
        day = since
        while day <= until:
            rng = np.random.default_rng([self.seed, a, day.toordinal(), version])
            imps = np.maximum(
                (base_imp * _WEEKLY[day.weekday()] * rng.lognormal(0, 0.1, n)).astype(np.int64), 1
            )
            clicks = rng.binomial(imps, ctr)
            spend = np.round(clicks * cpc * rng.lognormal(0, 0.05, n), 2)
            convs = rng.binomial(clicks, cvr)
            value = np.round(convs * aov, 2)
            cpm = spend * 1000 / imps
            ctr_pct = clicks * 100 / imps
            cpc_obs = np.divide(spend, clicks, out=np.zeros(n), where=clicks > 0)
            day_s = day.isoformat()
            for i, (im, cl, sp, cv, va, m, t, c) in enumerate(
                zip(
                    imps.tolist(),
                    clicks.tolist(),
                    spend.tolist(),
                    convs.tolist(),
                    value.tolist(),
                    cpm.tolist(),
                    ctr_pct.tolist(),
                    cpc_obs.tolist(),
                    strict=True,
                )
            ):
                record = {
                    **bases[i],
                    "date_start": day_s,
                    "date_stop": day_s,
                    "spend": f"{sp:.2f}",
                    "impressions": str(im),
                    "clicks": str(cl),
                    "reach": str(im * 4 // 5),
                    "cpm": f"{m:.6f}",
                    "ctr": f"{t:.6f}",
                    "cpc": f"{c:.6f}",
                    "attribution_setting": "7d_click_1d_view",
                }
                if cl:
                    record["actions"] = [
                        {"action_type": "link_click", "value": str(cl)},
                        {"action_type": PURCHASE, "value": str(cv)},
                        {"action_type": "omni_purchase", "value": str(cv)},
                    ]
                    record["action_values"] = [
                        {"action_type": PURCHASE, "value": f"{va:.2f}"},
                        {"action_type": "omni_purchase", "value": f"{va:.2f}"},
                    ]
                page.append(record)
                if len(page) >= page_size:
                    self.rows_generated += len(page)
                    yield page
                    page = []
            day += timedelta(days=1)
        if page:
            self.rows_generated += len(page)
            yield page


# -- loading (also run as child processes, so peak RSS is the sync's own) ---------------------------


def _insights_stream():
    from pipeline.connectors.meta import META_STREAMS

    return META_STREAMS["ads_insights_daily"]


def load_insights(url: str, tier: Tier, since: date, until: date, version: int = 0) -> dict[str, Any]:
    """One ``replace_window`` per account over ``since..until``; rows and seconds (generation included)."""
    from pipeline.warehouse.loader import replace_window

    stream = _insights_stream()
    gen = Generator(tier)
    loaded = deduplicated = quarantined = 0
    started = time.perf_counter()
    for a in range(tier.accounts):
        result = replace_window(
            url,
            stream,
            account_id(a),
            gen.pages(a, since, until, version),
            since=since,
            until=until,
            run_id="bench",
        )
        loaded += result.rows_loaded
        deduplicated += result.rows_deduplicated
        quarantined += result.rows_quarantined
    seconds = time.perf_counter() - started
    return {
        "rows_generated": gen.rows_generated,
        "rows_loaded": loaded,
        "rows_deduplicated": deduplicated,
        "rows_quarantined": quarantined,
        "seconds": seconds,
    }


def copy_insights(url: str, tier: Tier, since: date, until: date) -> dict[str, Any]:
    """Baseline: bare COPY of the same generated rows into the same table (truncated first, untimed)."""
    stream = _insights_stream()
    gen = Generator(tier)
    keys = ", ".join(stream.key_names)
    with psycopg.connect(url) as conn:
        conn.execute(f"truncate raw.{stream.table}")
        ensure_month_partitions(conn, "raw", stream.table, since, until)  # as the loader does, untimed
        conn.commit()
        started = time.perf_counter()
        for a in range(tier.accounts):
            sync_id = uuid.uuid4()
            with (
                conn.transaction(),
                conn.cursor().copy(f"copy raw.{stream.table} ({keys}, payload, _sync_id) from stdin") as copy,
            ):
                for page in gen.pages(a, since, until):
                    for record in page:
                        copy.write_row(
                            (
                                record["account_id"],
                                record["ad_id"],
                                record["date_start"],
                                orjson.dumps(record).decode(),
                                sync_id,
                            )
                        )
        seconds = time.perf_counter() - started
        copied = conn.execute(f"select count(*) from raw.{stream.table}").fetchone()[0]
        conn.execute(f"truncate raw.{stream.table}")
        conn.commit()
    return {"rows_generated": gen.rows_generated, "rows_loaded": copied, "seconds": seconds}


def _own_peak_rss_mb() -> float | None:
    """This process's own peak RSS (Linux VmHWM). Not wait4's ru_maxrss: that also counts the
    parent's memory the child had before exec, which here is larger than the sync's."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    tier = Tier(**spec["tier"])
    since, until = date.fromisoformat(spec["since"]), date.fromisoformat(spec["until"])
    if spec["mode"] == "copy":
        result = copy_insights(spec["url"], tier, since, until)
    else:
        result = load_insights(spec["url"], tier, since, until, spec.get("version", 0))
    return result | {"own_peak_rss_mb": _own_peak_rss_mb()}


class Interrupted(Exception):
    """SIGTERM (e.g. ``timeout``): stop, report what finished, drop the scratch database."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted("terminated (SIGTERM) before finishing")


# This module's importable name, also when it runs as ``python -m`` (where __name__ is "__main__").
MODULE = __spec__.name if __spec__ is not None else __name__


def run_child(spec: dict[str, Any], module: str = MODULE) -> dict[str, Any]:
    """Run ``module``'s ``_child(spec)`` in a fresh interpreter; its result plus its own peak RSS in MB."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--child", json.dumps(spec)],
            cwd=PROJECT_ROOT,
            stdout=out,
        )
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage alone (not RUSAGE_CHILDREN's max)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise RuntimeError(f"bench child {spec['mode']} failed with exit code {proc.returncode}")
        out.seek(0)
        result = json.loads(out.read().decode().strip().splitlines()[-1])
    # ru_maxrss (kB on Linux) only where /proc is missing: it includes the parent's pre-exec memory.
    result["peak_rss_mb"] = result.pop("own_peak_rss_mb", None) or usage.ru_maxrss / 1024
    return result


# -- database and dbt ------------------------------------------------------------------------------


def prepare_database(url: str, tier: Tier) -> None:
    """Migrate, create every registered raw table (empty ones make the dbt unions build), load entities."""
    from pipeline.connectors import CONNECTORS
    from pipeline.connectors.csv_import import CSV_STREAMS
    from pipeline.connectors.meta import META_STREAMS
    from pipeline.warehouse import migrate
    from pipeline.warehouse.loader import ensure_raw_table, replace_window

    migrate.upgrade(url)
    with psycopg.connect(url) as conn, conn.transaction():
        for connector in CONNECTORS.values():
            for stream in connector.streams.values():
                ensure_raw_table(conn, stream)
        for stream in CSV_STREAMS.values():
            ensure_raw_table(conn, stream)
    gen = Generator(tier)
    for name in ("ad_accounts", "campaigns", "adsets", "ads"):
        for a in range(tier.accounts):
            replace_window(url, META_STREAMS[name], account_id(a), [gen.entities(name, a)], run_id="bench")


class Dbt:
    def __init__(self, url: str, workdir: Path) -> None:
        from pipeline.warehouse.db import dbt_env

        self.env = {**os.environ, **dbt_env(url)}
        self.url = url
        self.workdir = workdir
        self.log = workdir / "dbt.log"

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> float:
        """Run dbt (``env``: more environment, e.g. the run's window); wall seconds. Own target/log paths:
        dbt_project/target is left alone."""
        cmd = [
            executable("dbt"),
            *args,
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(self.workdir / "target"),
            "--log-path",
            str(self.workdir / "logs"),
        ]
        started = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=DBT_PROJECT_DIR, env={**self.env, **(env or {})}, capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        with self.log.open("a") as log:
            log.write(
                f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n[{seconds:.1f} s, rc {proc.returncode}]\n"
            )
        if proc.returncode:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"dbt {' '.join(args[:1])} failed (log: {self.log}):\n{tail}")
        return seconds

    def backfill(self) -> float:
        fingerprints = self._fingerprints()
        seconds = self("build", *DBT_SELECTION, "--full-refresh")
        self._record_built(fingerprints)
        return seconds

    def incremental(self, since: date, until: date) -> float:
        """As the Dagster dbt assets build a window: views and seeds unchanged since this database
        built them are left out (pipeline/warehouse/dbt_state.py)."""
        from pipeline.warehouse import dbt_state
        from pipeline.warehouse.db import dbt_window_env

        manifest = self._manifest()
        unchanged, fingerprints = dbt_state.unchanged_nodes(
            self.url, manifest, DBT_PROJECT_DIR / "dbt_project.yml", self.workdir / "state"
        )
        seconds = self(
            "build",
            *DBT_SELECTION,
            *dbt_state.exclude_args(manifest, unchanged),
            env=dbt_window_env(since, until),
        )
        self._record_built(fingerprints)
        return seconds

    def _manifest(self) -> dict[str, Any]:
        if not (self.workdir / "target" / "manifest.json").exists():
            self("parse")
        return json.loads((self.workdir / "target" / "manifest.json").read_text())

    def _fingerprints(self) -> dict[str, str]:
        from pipeline.warehouse import dbt_state

        return dbt_state.node_fingerprints(self._manifest(), DBT_PROJECT_DIR / "dbt_project.yml")

    def _record_built(self, fingerprints: dict[str, str]) -> None:
        from pipeline.warehouse import dbt_state

        run_results = json.loads((self.workdir / "target" / "run_results.json").read_text())
        dbt_state.record_built(self.url, fingerprints, run_results, self.workdir / "state")

    def last_run_breakdown(self, slowest: int = 8) -> dict[str, Any]:
        """Where the last build's time went (run_results.json): models vs tests, the slowest nodes."""
        results = json.loads((self.workdir / "target" / "run_results.json").read_text())["results"]
        by_kind: dict[str, float] = {}
        for node in results:
            kind = node["unique_id"].split(".", 1)[0]
            by_kind[kind] = by_kind.get(kind, 0.0) + node["execution_time"]
        ranked = sorted(results, key=lambda n: -n["execution_time"])[:slowest]
        return {
            "nodes_executed": len(results),
            "node_seconds_by_kind": {k: round(v, 2) for k, v in by_kind.items()},
            "slowest_nodes": [[n["unique_id"].split(".")[-1], round(n["execution_time"], 2)] for n in ranked],
        }


def daily_run(url: str, tier: Tier, dbt: Dbt, version: int) -> dict[str, Any]:
    """Re-sync END and restate the RESTATE_DAYS - 1 days before it, then the incremental dbt build."""
    since = END - timedelta(days=RESTATE_DAYS - 1)
    started = time.perf_counter()
    sync = load_insights(url, tier, since, END, version=version)
    dbt_seconds = dbt.incremental(since, END)
    return {
        "seconds": time.perf_counter() - started,
        "sync_seconds": sync["seconds"],
        "dbt_seconds": dbt_seconds,
        "rows_synced": sync["rows_loaded"],
        "window": [since.isoformat(), END.isoformat()],
    } | dbt.last_run_breakdown()


def history_database(admin_url: str, name: str, tier: Tier, days: int, workdir: Path) -> tuple[str, Dbt]:
    """A scratch database holding ``days`` days of the tier's accounts and ads, backfilled."""
    from pipeline.warehouse import db

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    url = db.ensure_database(admin_url, name)
    prepare_database(url, tier)
    load_insights(url, tier, END - timedelta(days=days), END - timedelta(days=1))
    workdir.mkdir(parents=True, exist_ok=True)
    dbt = Dbt(url, workdir)
    dbt("parse")
    dbt.backfill()
    return url, dbt


def fact_rows(url: str) -> int | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where c.relname = 'fct_ad_performance_daily' and c.relkind in ('r', 'p')"
        ).fetchone()
        if not row:
            return None
        return conn.execute(f'select count(*) from "{row[0]}".fct_ad_performance_daily').fetchone()[0]


# -- the benchmark ---------------------------------------------------------------------------------


def _metric(
    name: str,
    value: float | None,
    unit: str,
    tier: Tier,
    baseline: float | None = None,
    ratio: float | None = None,
    note: str = "",
) -> dict[str, Any]:
    op, goal = GOALS.get(name, (None, None))
    judged = ratio if name.endswith("_ratio") else value
    met = None
    goal_text = f"{op} {goal:g}" if op else ""
    if op and judged is not None:
        met = judged >= goal if op == ">=" else judged <= goal
    goal_tier = GOAL_TIER.get(name)
    if goal_tier and goal_tier != tier.name:
        goal_text += f" (tier {goal_tier})"
        met = None  # the goal is defined for another tier: shown, not judged
    return {
        "metric": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "goal": goal_text,
        "met": met,
        "note": note,
    }


def _kinds(daily: dict[str, Any]) -> str:
    return ", ".join(f"{kind}s {secs:.1f} s" for kind, secs in daily["node_seconds_by_kind"].items())


def run(
    tier: Tier,
    *,
    keep_db: bool = False,
    skip_dbt: bool = False,
    history_days: Sequence[int] = (365, 30),
    load_rounds: int = 3,
    history_rounds: int = 2,
) -> dict[str, Any]:
    from pipeline.warehouse import db

    admin_url = os.environ.get("DATABASE_URL") or db._start_embedded(settings().embedded_pg_dir)
    name = f"adsignal_bench_{tier.name.lower()}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    url = db.ensure_database(admin_url, name)
    extra_databases: list[str] = []
    workdir = settings().data_dir / "bench" / f"warehouse_{tier.name.lower()}"
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "warehouse",
        "tier": asdict(tier) | {"ads_total": tier.ads_total, "rows": tier.rows},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "server": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded pgserver",
        "database": name,
        "cpu_count": os.cpu_count(),
        "metrics": [],
        "details": {},
        "skipped": [],
        "errors": [],
    }
    metrics, details = result["metrics"], result["details"]
    try:
        prepare_database(url, tier)
        since, until = END - timedelta(days=tier.days), END - timedelta(days=1)
        spec = {"url": url, "tier": asdict(tier), "since": since.isoformat(), "until": until.isoformat()}
        # Alternated, best of `load_rounds` each: the machine may be shared, and the first COPY into
        # a fresh server pays for cold caches. The last round is the loader's: dbt reads its rows.
        copies, loads = [], []
        for _ in range(load_rounds):
            copies.append(run_child({**spec, "mode": "copy"}))
            loads.append(run_child({**spec, "mode": "load"}))
        copy = min(copies, key=lambda r: r["seconds"]) | {"all_seconds": [r["seconds"] for r in copies]}
        load = min(loads, key=lambda r: r["seconds"]) | {"all_seconds": [r["seconds"] for r in loads]}
        copy["peak_rss_mb"] = max(r["peak_rss_mb"] for r in copies)
        load["peak_rss_mb"] = max(r["peak_rss_mb"] for r in loads)
        details["copy_baseline"], details["loader"] = copy, load
        result["rows"] = {
            "generated": load["rows_generated"],
            "loaded": load["rows_loaded"],
            "copied": copy["rows_loaded"],
            "expected": tier.rows,
        }
        load_rps, copy_rps = load["rows_loaded"] / load["seconds"], copy["rows_loaded"] / copy["seconds"]
        metrics.append(
            _metric(
                "load_throughput_ratio",
                load_rps,
                "rows/s",
                tier,
                copy_rps,
                load_rps / copy_rps,
                f"replace_window vs bare COPY, generator included in both; best of {load_rounds}",
            )
        )
        metrics.append(
            _metric(
                "peak_rss_mb",
                load["peak_rss_mb"],
                "MB",
                tier,
                copy["peak_rss_mb"],
                load["peak_rss_mb"] / copy["peak_rss_mb"],
                f"loader process syncing {load['rows_loaded']:,} rows; baseline: COPY process",
            )
        )
        if skip_dbt:
            result["skipped"].append("dbt: backfill, daily run and history ratio (--skip-dbt)")
        else:
            dbt = Dbt(url, workdir)
            details["dbt_parse_seconds"] = dbt("parse")  # untimed below: partial parsing from here on
            backfill = dbt.backfill()
            details["fact_rows_after_backfill"] = fact_rows(url)
            metrics.append(
                _metric(
                    "backfill_seconds",
                    backfill,
                    "s",
                    tier,
                    note=f"dbt build --full-refresh, {tier.days} days history",
                )
            )
            daily = daily_run(url, tier, dbt, version=1)
            details["daily_run"] = daily
            metrics.append(
                _metric(
                    "daily_run_seconds",
                    daily["seconds"],
                    "s",
                    tier,
                    note=f"sync {daily['sync_seconds']:.1f} s + dbt {daily['dbt_seconds']:.1f} s (node time:"
                    f" {_kinds(daily)}; {daily['nodes_executed']} nodes), {RESTATE_DAYS} days re-synced,"
                    f" {tier.days} days history",
                )
            )
            # Each history in its own database, their daily runs alternated, best of history_rounds:
            # on a shared machine a burst of load would otherwise land on one side of the ratio.
            histories: dict[int, tuple[str, Dbt]] = {}
            for days in history_days:
                if days == tier.days:
                    histories[days] = (url, dbt)
                else:
                    extra = f"{name}_h{days}"
                    extra_databases.append(extra)
                    histories[days] = history_database(admin_url, extra, tier, days, workdir / f"h{days}")
            runs: dict[int, list[dict[str, Any]]] = {days: [] for days in history_days}
            for round_index in range(history_rounds):
                for days in history_days:
                    h_url, h_dbt = histories[days]
                    runs[days].append(daily_run(h_url, tier, h_dbt, version=2 + round_index))
            by_history = {
                days: min(r, key=lambda run: run["seconds"]) | {"all_seconds": [run["seconds"] for run in r]}
                for days, r in runs.items()
            }
            details["daily_run_by_history_days"] = by_history
            if len(history_days) == 2:
                long_days, short_days = max(history_days), min(history_days)
                long_s, short_s = by_history[long_days]["seconds"], by_history[short_days]["seconds"]
                metrics.append(
                    _metric(
                        "daily_run_history_ratio",
                        long_s,
                        "s",
                        tier,
                        short_s,
                        long_s / short_s,
                        f"daily run with {long_days} vs {short_days} days history, best of {history_rounds}",
                    )
                )
    except Exception as exc:  # report what finished, and why the rest did not
        result["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if keep_db:
            result["database_url"] = url
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                for database in (name, *extra_databases):
                    conn.execute(f'drop database if exists "{database}" with (force)')
    return result


def _print(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    tier = result["tier"]
    table = Table(
        title=f"warehouse benchmark — tier {tier['name']}: {tier['accounts']} accounts x {tier['campaigns']}"
        f" campaigns x {tier['ads']} ads x {tier['days']} days = {tier['rows']:,} ad-day rows"
    )
    for column in ("metric", "value", "baseline", "ratio", "goal", "met?"):
        table.add_column(
            column, justify="right" if column in {"value", "baseline", "ratio"} else "left", no_wrap=True
        )

    def fmt(value: float | None, unit: str = "") -> str:
        if value is None:
            return "—"
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"
        return f"{text} {unit}".strip()

    for m in result["metrics"]:
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "n/a"}[m["met"]]
        table.add_row(
            m["metric"],
            fmt(m["value"], m["unit"]),
            fmt(m["baseline"], m["unit"]),
            fmt(m["ratio"]),
            m["goal"],
            met,
        )
    console = Console(width=max(Console().width, 120))
    console.print(table)
    for m in result["metrics"]:
        console.print(f"  {m['metric']}: {m['note']}")
    if rows := result.get("rows"):
        console.print(
            f"rows: generated {rows['generated']:,}, loaded {rows['loaded']:,}, copied {rows['copied']:,}"
        )
    for skipped in result["skipped"]:
        console.print(f"[yellow]skipped:[/] {skipped}")
    for error in result["errors"]:
        console.print(f"[red]error:[/] {error}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.warehouse", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tier", choices=sorted(TIERS), default="S", type=str.upper)
    parser.add_argument("--out", type=Path, default=settings().data_dir / "bench" / "warehouse.json")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    parser.add_argument("--skip-dbt", action="store_true", help="raw load and memory only")
    parser.add_argument("--history-days", default="365,30", help="daily run vs history: long,short")
    parser.add_argument("--history-rounds", type=int, default=2, help="daily runs per history, best kept")
    parser.add_argument(
        "--load-rounds", type=int, help="loader and COPY runs each, best kept (default: 3; tier M: 1)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    history = tuple(int(d) for d in args.history_days.split(","))
    signal.signal(signal.SIGTERM, _on_sigterm)
    rounds = args.load_rounds or (1 if args.tier == "M" else 3)
    result = run(
        TIERS[args.tier],
        keep_db=args.keep_db,
        skip_dbt=args.skip_dbt,
        history_days=history,
        load_rounds=rounds,
        history_rounds=args.history_rounds,
    )
    _print(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
