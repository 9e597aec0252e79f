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
        decomposition = family["decomposition_median"]
        assert set(decomposition["t0_curves"]) >= {"captured", "curvature", "level", "family"}
    for run in result["runs"]:
        # The cycle's shortfall is the exact sum of its parts.
        parts = run["decomposition"]["with_experiments"]["cycle"]
        net = run["net_cycle"]["with_experiments"]
        assert abs((1.0 - net) - (parts["t0_curves"] + parts["experiment"] + parts["horizon"])) < 1e-9
        curves = run["decomposition"]["with_experiments"]["t1_curves"]
        explained = curves["curvature"] + curves["level"] + curves["family"]
        assert abs((1.0 - curves["captured"]) - explained) < 1e-9
        assert curves["captured"] == run["captured"]["after_experiment"]
