"""Smoke test of the experiment-loop benchmark: one seed per world family, structure only, never scores."""

from __future__ import annotations

from pipeline.bench import budget_loop as bench


def test_one_seed_per_family_reports_every_strategy_and_the_experiment_cost() -> None:
    result = bench.run(bench.LoopConfig(seeds=1, first_seed=3))
    summary = result["summary"]
    assert set(summary) == {"sandbox", "market"}
    for family in summary.values():
        assert set(family["captured"]) >= {
            "without",
            "without_refit",
            "proportional_roas",
            "after_experiment",
        }
        assert set(family["net_cycle"]) == {
            "without",
            "with_experiments",
            "forced",
            "successive_14d",
        }
        assert family["captured"]["end_of_cycle_successive_14d"]["median"] is not None
        assert family["captured"]["without"]["median"] is not None
        assert family["cost_oracle_days"]["forced"]["median"] is not None
        assert 0.0 <= family["interval_coverage"] <= 1.0
