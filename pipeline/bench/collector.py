"""Collector throughput: sustained events/s through the Segment-compatible HTTP API.

    python -m pipeline.bench.collector [--seconds 20] [--clients 8] [--out FILE]

A scratch database (``DATABASE_URL``'s server or the embedded one) and ``adsignal collect`` as its own
process (uvicorn, as deployed); ``--clients`` threads post 100-event batches (Segment's usual batch,
about 40 KB of JSON) for ``--seconds`` and count the acknowledged events. In the same run, the
baseline: the same events parsed and inserted straight into the warehouse with no HTTP
(``insert_events`` in 100-event transactions, one thread), so the report holds the ratio
collector/baseline as well as the absolute rate (goal: >= 5,000 events/s on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from pipeline.config import utc_now
from pipeline.connectors.events import parse_event
from pipeline.warehouse import db, migrate
from pipeline.warehouse.events_store import create_write_key, insert_events

BATCH = 100


def _event(run: str, n: int) -> dict:
    return {
        "type": "track",
        "messageId": f"{run}-{n}",
        "anonymousId": f"anon-{n % 5000}",
        "event": "Product Viewed",
        "properties": {"sku": f"SKU-{n % 300}", "price": 19.99, "currency": "EUR", "category": "shoes"},
        "context": {
            "page": {"url": "https://shop.example/p/1", "referrer": "https://www.google.com/"},
            "campaign": {"source": "google", "medium": "cpc", "name": "spring"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            "ip": "198.51.100.7",
        },
        "timestamp": "2026-05-01T10:00:00Z",
    }


def _scratch_database() -> str:
    admin = os.environ.get("DATABASE_URL") or db._start_embedded(db.settings().data_dir / "pg")
    name = f"adsignal_bench_collector_{os.getpid()}"
    url = db.ensure_database(admin, name)
    migrate.upgrade(url)
    return url


def baseline(url: str, seconds: float) -> float:
    run, sent, start = uuid.uuid4().hex[:8], 0, time.perf_counter()
    with psycopg.connect(url) as conn:
        while time.perf_counter() - start < seconds:
            events = [parse_event(_event(run, sent + i), received_at=utc_now()) for i in range(BATCH)]
            with conn.transaction():
                insert_events(conn, "default", "bench", events)
            sent += BATCH
    return sent / (time.perf_counter() - start)


def collector_rate(url: str, key: str, seconds: float, clients: int) -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "collect", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        acknowledged = [0] * clients
        stop = time.perf_counter() + seconds

        def client(number: int) -> None:
            run = uuid.uuid4().hex[:8]
            with httpx.Client(auth=(key, ""), timeout=30) as http:
                n = 0
                while time.perf_counter() < stop:
                    body = json.dumps({"batch": [_event(run, n + i) for i in range(BATCH)]})
                    answer = http.post(f"http://127.0.0.1:{port}/v1/batch", content=body,
                                       headers={"content-type": "application/json"})  # fmt: skip
                    if answer.status_code == 200:
                        acknowledged[number] += BATCH
                    n += BATCH

        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(acknowledged) / (time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    url = _scratch_database()
    with psycopg.connect(url) as conn:
        _, key = create_write_key(conn, "default", "bench", actor="bench")
    base = baseline(url, args.seconds)
    through_http = collector_rate(url, key, args.seconds, args.clients)
    result = {
        "measured_at": utc_now().isoformat(),
        "load_average": os.getloadavg(),
        "batch_events": BATCH,
        "clients": args.clients,
        "baseline_events_per_s": round(base),
        "collector_events_per_s": round(through_http),
        "collector_vs_baseline": round(through_http / base, 3),
        "goal_events_per_s": 5000,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    admin = db.with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{db.libpq_params(url)["dbname"]}" with (force)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
