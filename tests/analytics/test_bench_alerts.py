"""Smoke test of the alert benchmark (``python -m pipeline.bench.alerts --quick``): structure only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.bench.alerts import main


def test_quick_benchmark_reports_both_detectors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench" / "alerts.json"

    assert main(["--quick", "--out", str(out)]) == 0

    results = json.loads(out.read_text())
    assert set(results["detectors"]) == {"adsignal", "zscore_3sigma"}
    for scores in results["detectors"].values():
        for key in ("precision", "recall", "median_delay_days", "false_alerts_per_campaign_month"):
            assert scores[key] is None or isinstance(scores[key], int | float), key
        assert scores["incidents"] == results["setup"]["incidents"] > 0
        assert 0 <= scores["detected"] <= scores["incidents"]
        assert scores["true_alerts"] + scores["false_alerts"] == scores["alerts"]
    for detector in ("adsignal", "zscore_3sigma"):
        by_incident = results["by_incident"][detector]
        assert sum(row["incidents"] for row in by_incident.values()) == results["setup"]["incidents"]
        assert {row["kind"] for row in results["incidents"][detector]} >= {"tracking_break", "overspend"}
    assert results["setup"]["seeds"] == [1]
    printed = capsys.readouterr().out
    assert "adsignal" in printed and "zscore_3sigma" in printed and "precision" in printed
