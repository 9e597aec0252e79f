"""Identity resolution at scale: N events of P people into profiles, with its wall time and peak memory.

    python -m pipeline.bench.profiles [--events 1000000] [--people 200000] [--out FILE]

A scratch database gets the events of a synthetic identity graph (people with one to three devices,
user ids, email and phone hashes, identifies and aliases, over 90 days) by COPY; then
``resolve_profiles`` resolves them in one run (the first import of a history), and again after one
more day of events (the hourly run). The profiles must equal the true people. Goals: the first run of
1 M events / 200 k people <= 60 s, peak RSS of this process <= 500 MB; the incremental run costs the
day (its ratio to the first run is reported).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from pipeline.config import utc_now
from pipeline.profiles import resolve_profiles
from pipeline.warehouse import db, migrate

START = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic_events(events: int, people: int, days: int, seed: int = 1) -> Iterator[tuple]:
    """Rows for raw.cdp_events (streamed: the bench's own memory stays out of the measure)."""
    rng = random.Random(seed)
    per_person = max(1, events // people)
    for person in range(people):
        user = f"u{person}" if rng.random() < 0.6 else None
        email = f"{person:064x}" if rng.random() < 0.7 else None
        # Nothing ties two anonymous devices to one person without an identifier: such people have one.
        devices = [f"a{person}-{d}" for d in range(rng.randint(1, 3) if user or email else 1)]
        for n in range(per_person):
            at = START + timedelta(days=rng.randrange(days), seconds=rng.randrange(86_400))
            device = devices[n % len(devices)]
            identified = n < len(devices) and bool(user or email)  # each device identifies once
            yield (f"m{person}-{n}", "identify" if identified else "track", None if identified else "Page Viewed",
                   device, user if identified else None, email if identified else None, at)  # fmt: skip


def _copy(url: str, rows: Iterable[tuple]) -> int:
    with (
        psycopg.connect(url) as conn,
        conn.transaction(),
        conn.cursor().copy(
            'copy raw.cdp_events (message_id, type, event, anonymous_id, user_id, email_sha256, "timestamp",'
            " received_at, source) from stdin"
        ) as copy,
    ):
        count = 0
        for message_id, kind, event, anon, user, email, at in rows:
            copy.write_row((message_id, kind, event, anon, user, email, at, at, "bench"))
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    admin = os.environ.get("DATABASE_URL") or db._start_embedded(db.settings().data_dir / "pg")
    name = f"adsignal_bench_profiles_{os.getpid()}"
    url = db.ensure_database(admin, name)
    try:
        migrate.upgrade(url)
        cutoff = START + timedelta(days=89)
        last_day: list[tuple] = []

        def history() -> Iterator[tuple]:
            for row in synthetic_events(args.events, args.people, days=90):
                if row[-1] < cutoff:
                    yield row
                else:
                    last_day.append(row)  # about 1 % of the events: the next day's

        loaded = _copy(url, history())
        start = time.perf_counter()
        first = resolve_profiles(url, "default")
        first_s = time.perf_counter() - start
        _copy(url, last_day)
        # The hourly run re-reads the last minutes' loads: age the history's loads as if it came in yesterday.
        with psycopg.connect(url) as conn:
            conn.execute("update raw.cdp_events set loaded_at = loaded_at - interval '1 day' where source = 'bench'"
                         " and \"timestamp\" < %s", (START + timedelta(days=89),))  # fmt: skip
        start = time.perf_counter()
        daily = resolve_profiles(url, "default")
        daily_s = time.perf_counter() - start
        result = {
            "measured_at": utc_now().isoformat(),
            "load_average": os.getloadavg(),
            "events": loaded + len(last_day),
            "people": args.people,
            "first_run_s": round(first_s, 1),
            "first_run_events": first.events,
            "profiles_after_daily": daily.totals["profiles"],
            "profiles_equal_people": daily.totals["profiles"] == args.people,
            "daily_run_s": round(daily_s, 2),
            "daily_run_events": daily.events,
            "daily_vs_first": round(daily_s / first_s, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "goals": {"first_run_s": 60, "peak_rss_mb": 500},
        }
        print(json.dumps(result, indent=2))
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
