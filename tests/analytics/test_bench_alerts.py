"""Smoke test of the alert benchmark (``python -m pipeline.bench.alerts --quick``): structure only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.bench.alerts import main


def test_quick_benchmark_reports_every_family_and_both_detectors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench" / "alerts.json"

    assert main(["--quick", "--out", str(out)]) == 0

    results = json.loads(out.read_text())
    assert set(results["families"]) == {"sandbox", "compound", "funnel", "retail"}
    assert results["families"]["funnel"]["held_out"] is True
    assert results["families"]["retail"]["held_out"] is True
    for name, family in results["families"].items():
        assert set(family["detectors"]) == {"adsignal", "zscore_3sigma"}, name
        for scores in family["detectors"].values():
            for key in ("precision", "recall", "median_delay_days", "false_alerts_per_campaign_month"):
                assert scores[key] is None or isinstance(scores[key], int | float), key
            assert scores["incidents"] == family["setup"]["incidents"] > 0
            assert 0 <= scores["detected"] <= scores["incidents"]
            assert scores["true_alerts"] + scores["false_alerts"] == scores["alerts"]
        for detector in ("adsignal", "zscore_3sigma"):
            by_kind = family["by_kind"][detector]
            assert sum(row["incidents"] for row in by_kind.values()) == family["setup"]["incidents"]
            assert all(0 <= row["recall"] <= 1 for row in by_kind.values())
    assert {row["kind"] for row in results["families"]["compound"]["incidents"]["adsignal"]} >= {
        "value_drop",
        "tracking_break",
        "cpc_spike",
    }
    assert results["families"]["sandbox"]["setup"]["seeds"] == [1]
    printed = capsys.readouterr().out
    assert "adsignal" in printed and "zscore_3sigma" in printed and "funnel (held out)" in printed
    assert "retail (held out)" in printed


def test_one_family_can_be_run_alone(tmp_path: Path) -> None:
    out = tmp_path / "alerts.json"

    assert main(["--quick", "--family", "compound", "--out", str(out)]) == 0

    assert set(json.loads(out.read_text())["families"]) == {"compound"}


def test_unknown_family_is_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--quick", "--family", "nope"])
