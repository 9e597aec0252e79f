"""Smoke test of the warehouse benchmark on a tiny tier: structure and row counts, never timings."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import psycopg

from pipeline.bench import warehouse
from pipeline.connectors.meta import META_STREAMS
from pipeline.warehouse import db
from pipeline.warehouse.loader import validate_record


def test_generator_streams_meta_shaped_pages() -> None:
    tier = warehouse.TIERS["XS"]
    gen = warehouse.Generator(tier)
    pages = list(gen.pages(0, date(2025, 3, 1), date(2025, 3, 5), page_size=3))
    records = [r for page in pages for r in page]
    assert all(len(page) <= 3 for page in pages)
    assert len(records) == gen.rows_generated == tier.rows
    stream = META_STREAMS["ads_insights_daily"]
    keys = {
        validate_record(stream, r, warehouse.account_id(0), date(2025, 3, 1), date(2025, 3, 5))
        for r in records
    }
    assert len(keys) == tier.rows  # one record per ad-day
    sample = next(r for r in records if r.get("actions"))
    assert isinstance(sample["spend"], str) and isinstance(sample["impressions"], str)
    assert {a["action_type"] for a in sample["actions"]} >= {warehouse.PURCHASE, "link_click"}
    assert {r["ad_id"] for r in records} == {a["id"] for a in gen.entities("ads", 0)}
    # restated values differ, keys do not
    restated = [r for p in gen.pages(0, date(2025, 3, 1), date(2025, 3, 5), version=1) for r in p]
    assert [(r["ad_id"], r["date_start"]) for r in restated] == [
        (r["ad_id"], r["date_start"]) for r in records
    ]


def test_bench_xs_reports_rows_and_metrics(tmp_path: Path) -> None:
    out = tmp_path / "warehouse.json"
    assert warehouse.main(["--tier", "XS", "--skip-dbt", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["benchmark"] == "warehouse" and result["tier"]["name"] == "XS"
    assert result["errors"] == []
    expected = warehouse.TIERS["XS"].rows
    assert result["rows"] == {
        "generated": expected,
        "loaded": expected,
        "copied": expected,
        "expected": expected,
    }
    metrics = {m["metric"]: m for m in result["metrics"]}
    assert set(metrics) == {"load_throughput_ratio", "peak_rss_mb"}
    for m in metrics.values():
        assert set(m) == {"metric", "value", "unit", "baseline", "ratio", "goal", "met", "note"}
        assert m["value"] > 0 and m["baseline"] > 0 and m["ratio"] > 0
    assert any("dbt" in s for s in result["skipped"])
    # the scratch database is gone
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        assert not conn.execute(
            "select 1 from pg_database where datname = %s", (result["database"],)
        ).fetchone()


def _admin_url() -> str:
    return os.environ.get("DATABASE_URL") or db._start_embedded(db.settings().embedded_pg_dir)
