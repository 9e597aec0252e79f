"""Smoke test of the import benchmark on tiny files: structure and row counts, never timings."""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.bench import imports as bench


def test_generated_files_are_valid_daily_exports(tmp_path: Path) -> None:
    counts = bench.write_file(tmp_path / "f.csv", 2_000)
    with (tmp_path / "f.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == counts["rows"] == counts["good_rows"] + counts["bad_rows"]
    assert {r["platform"] for r in rows} >= {"linkedin", "pinterest"}


def test_a_tiny_run_measures_every_size() -> None:
    result = bench.run([1_000, 3_000])
    assert result["errors"] == []
    assert [r["rows_loaded"] for r in result["runs"]] == [1_000, 3_000]
    assert all(r["peak_rss_mb"] > 0 and r["rows_per_second"] > 0 for r in result["runs"])
    assert result["peak_rss_ratio_largest_vs_smallest"] > 0
