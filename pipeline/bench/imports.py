"""CSV import benchmark: peak memory and throughput of ``adsignal import`` as the file grows.

For each size (``--rows``, default 200 k, 1 M and 5 M rows) a daily file of the generic format is
generated (10 accounts on four platforms, 100 days, as many ads as the size needs; a few bad rows
and duplicates so the quarantine path runs too), then imported by
:func:`pipeline.imports.import_file` in a child process of its own, into a scratch database that is
migrated first and dropped at the end. The child reports its own peak RSS (Linux ``VmHWM``) and
rows/s (rows read / seconds, sha256 pass, validation, spooling and loading included; no dbt). The
figure that matters is the ratio of peak RSS at the largest size to the smallest: flat memory means
a ratio near 1 (goal: the largest size under 250 MB).

    python -m pipeline.bench.imports [--rows 200000,1000000,5000000] [--out FILE] [--keep-files]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from pipeline.bench.warehouse import Interrupted, _on_sigterm, _own_peak_rss_mb, run_child
from pipeline.config import settings
from pipeline.sandbox.sample_import import HEADER

TODAY = date(2026, 6, 1)  # pinned: dates in the files are validated against it
DAYS = 100
ACCOUNTS = (
    ("linkedin", "EUR", "Europe/Berlin"),
    ("pinterest", "USD", "America/Los_Angeles"),
    ("reddit", "USD", "America/New_York"),
    ("amazon", "GBP", "Europe/London"),
)
ACCOUNT_COUNT = 10
BAD_ROW_EVERY = 50_000  # one negative spend and one exact duplicate per this many rows
SIZES = (200_000, 1_000_000, 5_000_000)
PEAK_RSS_GOAL_MB = 250.0


def write_file(path: Path, rows: int) -> dict[str, int]:
    """A daily file of about ``rows`` rows: accounts x ads x days, ad-major; returns its counts."""
    ads = max(1, -(-rows // (ACCOUNT_COUNT * DAYS)))
    first_day = TODAY - timedelta(days=DAYS)
    days = [(first_day + timedelta(d)).isoformat() for d in range(DAYS)]
    written = bad = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(HEADER) + "\n")
        for a in range(ACCOUNT_COUNT):
            platform, currency, timezone = ACCOUNTS[a % len(ACCOUNTS)]
            account = f"{700_000 + a}"
            for ad in range(ads):
                if written >= rows:
                    break
                campaign = f"c{ad // 20}"
                prefix = (
                    f"{platform},{account},Bench {a},{currency},{timezone},{campaign},Campaign {campaign},"
                    f"g{ad // 5},ad{ad},Ad {ad},"
                )
                lines = []
                for d, day in enumerate(days):
                    spend = (ad * 7 + d * 13) % 5000 / 100
                    impressions = 1000 + (ad * 31 + d * 17) % 4000
                    lines.append(
                        f"{day},{prefix}{spend:.2f},{impressions},{impressions // 40},{d % 3},{d % 3 * 25}"
                    )
                written += len(lines)
                if written // BAD_ROW_EVERY != (written - len(lines)) // BAD_ROW_EVERY:
                    broken = lines[0].split(",")
                    broken[9], broken[11] = f"bad{ad}", "-1"  # ad_id, spend: a negative spend
                    lines += [lines[0], ",".join(broken)]  # an exact duplicate, a bad row
                    bad += 2
                handle.write("\n".join(lines) + "\n")
    return {"rows": written + bad, "good_rows": written, "bad_rows": bad}


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    from pipeline.imports import import_file

    started, cpu_started = time.perf_counter(), time.process_time()
    report = import_file(spec["url"], spec["path"], run_id="bench", today=TODAY)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,  # the importing process's own; PostgreSQL's work is not in it
        "status": report.status,
        "own_peak_rss_mb": _own_peak_rss_mb(),
    }


def run(sizes: Sequence[int], *, keep_files: bool = False) -> dict[str, Any]:
    from pipeline.warehouse import db, migrate

    admin_url = os.environ.get("DATABASE_URL") or db._start_embedded(settings().embedded_pg_dir)
    name = f"adsignal_bench_imports_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    url = db.ensure_database(admin_url, name)
    workdir = settings().data_dir / "bench" / "imports"
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "imports",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "server": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded pgserver",
        "cpu_count": os.cpu_count(),
        "runs": [],
        "errors": [],
    }
    try:
        migrate.upgrade(url)
        for size in sorted(sizes):
            path = workdir / f"import_{size}.csv"
            counts = write_file(path, size)
            with psycopg.connect(url, autocommit=True) as conn:  # each size into an empty table
                conn.execute("truncate raw.csv_ad_performance_daily")
            file_mb = path.stat().st_size / 2**20
            try:
                child = run_child(
                    {"mode": "import", "url": url, "path": str(path)}, module="pipeline.bench.imports"
                )
            finally:
                if not keep_files:
                    path.unlink(missing_ok=True)
            if child["rows_loaded"] != counts["good_rows"]:
                result["errors"].append(
                    f"{size}: loaded {child['rows_loaded']} of {counts['good_rows']} rows"
                )
            result["runs"].append(
                {
                    "rows": counts["rows"],
                    "file_mb": round(file_mb, 1),
                    "peak_rss_mb": round(child["peak_rss_mb"], 1),
                    "rows_per_second": round(child["rows_read"] / child["seconds"]),
                    "seconds": round(child["seconds"], 1),
                    "cpu_seconds": round(child["cpu_seconds"], 1),
                }
                | {k: child[k] for k in ("rows_read", "rows_loaded", "rows_quarantined", "status")}
            )
        runs = result["runs"]
        if len(runs) >= 2:
            result["peak_rss_ratio_largest_vs_smallest"] = round(
                runs[-1]["peak_rss_mb"] / runs[0]["peak_rss_mb"], 2
            )
        if runs:
            result["largest_peak_rss_mb"] = runs[-1]["peak_rss_mb"]
            result["goal"] = f"peak RSS at {runs[-1]['rows']:,} rows <= {PEAK_RSS_GOAL_MB:g} MB"
            result["goal_met"] = runs[-1]["peak_rss_mb"] <= PEAK_RSS_GOAL_MB
    except (Exception, Interrupted) as exc:
        result["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
    return result


def _print(result: dict[str, Any]) -> None:
    print(f"{'rows':>12} {'file':>9} {'peak RSS':>10} {'rows/s':>8} {'seconds':>8} {'CPU s':>7}")
    for r in result["runs"]:
        print(
            f"{r['rows']:>12,} {r['file_mb']:>6.0f} MB {r['peak_rss_mb']:>7.1f} MB {r['rows_per_second']:>8,}"
            f" {r['seconds']:>8.1f} {r['cpu_seconds']:>7.1f}"
        )
    if "peak_rss_ratio_largest_vs_smallest" in result:
        print(f"peak RSS ratio, largest vs smallest file: {result['peak_rss_ratio_largest_vs_smallest']:.2f}")
    if "goal" in result:
        print(f"goal: {result['goal']}: {'met' if result['goal_met'] else 'NOT met'}")
    for error in result["errors"]:
        print(f"error: {error}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench.imports", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--rows", default=",".join(map(str, SIZES)), help="file sizes in rows, comma-separated"
    )
    parser.add_argument("--out", type=Path, default=settings().data_dir / "bench" / "imports.json")
    parser.add_argument("--keep-files", action="store_true", help="keep the generated files")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    signal.signal(signal.SIGTERM, _on_sigterm)
    result = run([int(n) for n in args.rows.split(",")], keep_files=args.keep_files)
    _print(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
