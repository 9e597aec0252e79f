"""Rate-limit bookkeeping: a connector's per-endpoint request counts into ``app.api_rate_limits``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def record_api_usage(url: str, platform: str, stats: Mapping[str, Mapping[str, Any]]) -> int:
    """Add one connector's counters to the current hour's rows; returns the endpoints recorded."""
    rows = [
        (
            platform,
            endpoint,
            int(s.get("requests", 0)),
            int(s.get("errors", 0)),
            int(s.get("retries", 0)),
            int(s.get("throttled", 0)),
            float(s.get("throttle_sleep_s", 0.0)),
            float(s.get("backoff_sleep_s", 0.0)),
            s.get("last_status"),
            s.get("max_usage_pct"),
            Jsonb(s.get("last_usage")) if s.get("last_usage") else None,
        )
        for endpoint, s in stats.items()
        if s.get("requests")
    ]
    if not rows:
        return 0
    with psycopg.connect(url) as conn:
        conn.cursor().executemany(
            """insert into app.api_rate_limits as r (platform, endpoint, window_start, requests, errors, retries,
                   throttled, throttle_sleep_s, backoff_sleep_s, last_status, max_usage_pct, last_usage)
               values (%s, %s, date_trunc('hour', now()), %s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (platform, endpoint, window_start) do update set
                   requests = r.requests + excluded.requests, errors = r.errors + excluded.errors,
                   retries = r.retries + excluded.retries, throttled = r.throttled + excluded.throttled,
                   throttle_sleep_s = r.throttle_sleep_s + excluded.throttle_sleep_s,
                   backoff_sleep_s = r.backoff_sleep_s + excluded.backoff_sleep_s,
                   last_status = excluded.last_status,
                   max_usage_pct = greatest(r.max_usage_pct, excluded.max_usage_pct),
                   last_usage = coalesce(excluded.last_usage, r.last_usage), updated_at = now()""",
            rows,
        )
    return len(rows)
