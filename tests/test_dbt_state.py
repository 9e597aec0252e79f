"""A daily run builds what its window touches: unchanged views and seeds are left out, changed or
missing ones are rebuilt (pipeline/warehouse/dbt_state.py).

The rules on a small hand-written manifest, then real dbt builds on a fresh database the way the
daily dbt asset runs them (left-out nodes from the stored fingerprints, ``--exclude``, record),
counting the executed nodes in dbt's run_results.json.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pipeline.config import DBT_PROJECT_DIR
from pipeline.connectors import CONNECTORS
from pipeline.connectors.csv_import import CSV_STREAMS
from pipeline.warehouse import dbt_state
from pipeline.warehouse.db import dbt_window_env
from pipeline.warehouse.loader import ensure_raw_table
from tests.dbt_cli import dbt_ok


def _node(materialized: str, parents: list[str] = (), resource_type: str = "model") -> dict:
    return {
        "resource_type": resource_type,
        "config": {"materialized": materialized},
        "depends_on": {"nodes": list(parents), "macros": []},
        "checksum": {"checksum": materialized},
        "schema": "s",
        "name": "",
        "fqn": ["p", ""],
    }


def _manifest() -> dict:
    nodes = {
        "seed.p.rates": _node("seed", resource_type="seed"),
        "model.p.stg": _node("view", ["source.p.raw"]),
        "model.p.union": _node("view", ["model.p.stg"]),
        "model.p.fact": _node("incremental", ["model.p.union", "model.p.rates_daily"]),
        "model.p.rates_daily": _node("table", ["seed.p.rates"]),
        "model.p.dim": _node("table", ["model.p.fact"]),
        "model.p.on_fact": _node("view", ["model.p.fact"]),
        "model.p.on_dim": _node("view", ["model.p.dim", "model.p.fact"]),
    }
    for unique_id, node in nodes.items():
        node["name"] = node["alias"] = unique_id.split(".")[-1]
        node["fqn"] = ["p", node["name"]]
    return {"nodes": nodes, "macros": {}}


def _skippable(manifest: dict, built: dict, existing: set | None = None) -> list[str]:
    fingerprints = dbt_state.node_fingerprints(manifest, Path(__file__))
    every = {("s", n["name"]) for n in manifest["nodes"].values()}
    return dbt_state.skippable_nodes(manifest, fingerprints, built, every if existing is None else existing)


def test_unchanged_views_and_seeds_are_left_out_unless_a_parent_is_a_rebuilt_table() -> None:
    manifest = _manifest()
    built = dbt_state.node_fingerprints(manifest, Path(__file__))
    assert set(built) == {"seed.p.rates", "model.p.stg", "model.p.union", "model.p.on_fact", "model.p.on_dim"}
    assert _skippable(manifest, {}) == []  # nothing built yet: a fresh warehouse builds everything
    # on_dim reads a table dbt replaces (drop ... cascade would take the view along): always rebuilt.
    assert _skippable(manifest, built) == ["model.p.on_fact", "model.p.stg", "model.p.union", "seed.p.rates"]


def test_a_changed_or_missing_view_is_rebuilt_with_the_views_on_it() -> None:
    manifest = _manifest()
    built = dbt_state.node_fingerprints(manifest, Path(__file__))
    manifest["nodes"]["model.p.stg"]["checksum"]["checksum"] = "edited"
    assert _skippable(manifest, built) == ["model.p.on_fact", "seed.p.rates"]
    manifest = _manifest()
    existing = {("s", n) for n in ("rates", "union", "fact", "on_fact")}  # stg dropped
    assert _skippable(manifest, built, existing) == ["model.p.on_fact", "seed.p.rates"]


def test_exclude_args_are_one_value_by_fully_qualified_name() -> None:
    manifest = _manifest()
    assert dbt_state.exclude_args(manifest, ["model.p.stg", "seed.p.rates"]) == [
        "--exclude",
        "fqn:p.stg fqn:p.rates",
    ]
    assert dbt_state.exclude_args(manifest, []) == []


def test_recorded_fingerprints_follow_the_run_results(tmp_path: Path) -> None:
    url = "postgresql://u:secret@localhost:5432/w"
    fingerprints = {"model.p.a": "1", "model.p.b": "2"}
    results = {
        "results": [{"unique_id": "model.p.a", "status": "success"}, {"unique_id": "x", "status": "pass"}]
    }
    dbt_state.record_built(url, fingerprints, results, tmp_path)
    assert dbt_state.load_built(url, tmp_path) == {"model.p.a": "1"}
    dbt_state.record_built(
        url, fingerprints, {"results": [{"unique_id": "model.p.a", "status": "error"}]}, tmp_path
    )
    assert dbt_state.load_built(url, tmp_path) == {}
    assert "secret" not in dbt_state.state_file(url, tmp_path).name
    assert dbt_state.state_file(url.replace("secret", "other"), tmp_path) == dbt_state.state_file(
        url, tmp_path
    )


# --- real dbt on a fresh database -----------------------------------------------------------------


class DailyDbt:
    """The daily dbt asset's steps against one database, with its own target, logs and state."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir

    def dbt(self, project_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        dbt_ok(self.url, self.workdir, *args, project_dir=project_dir, env=env)

    def daily_run(self, project_dir: Path = DBT_PROJECT_DIR) -> set[str]:
        """One daily build; the unique_ids dbt executed."""
        self.dbt(project_dir, "parse")
        manifest = json.loads((self.workdir / "target" / "manifest.json").read_text())
        unchanged, fingerprints = dbt_state.unchanged_nodes(
            self.url, manifest, project_dir / "dbt_project.yml", self.workdir / "state"
        )
        # the window through the environment, as the dbt asset passes it (--vars would re-parse everything)
        window = dbt_window_env(date(2026, 11, 1), date(2026, 11, 3))
        self.dbt(
            project_dir,
            "build",
            "--exclude",
            "*hourly*",
            *dbt_state.exclude_args(manifest, unchanged),
            env=window,
        )
        run_results = json.loads((self.workdir / "target" / "run_results.json").read_text())
        dbt_state.record_built(self.url, fingerprints, run_results, self.workdir / "state")
        return {result["unique_id"] for result in run_results["results"]}


def test_each_warehouse_keeps_its_own_partial_parse_until_it_is_forgotten(tmp_path: Path) -> None:
    """dbt re-parses everything when the database it parsed for differs: a parse is kept per warehouse."""
    state = tmp_path / "state"
    one, other = "postgresql://u:secret@h:5432/one", "postgresql://u:secret@h:5432/other"
    run = tmp_path / "run"
    run.mkdir()
    (run / dbt_state.PARTIAL_PARSE_FILE).write_bytes(b"parse of one")
    dbt_state.keep_partial_parse(one, run, state)

    assert not dbt_state.seed_partial_parse(other, tmp_path / "other_run", state)
    assert dbt_state.seed_partial_parse(one, tmp_path / "next_run", state)
    assert (tmp_path / "next_run" / dbt_state.PARTIAL_PARSE_FILE).read_bytes() == b"parse of one"
    assert dbt_state.partial_parse_file(one, state) != dbt_state.partial_parse_file(other, state)
    assert "secret" not in str(dbt_state.partial_parse_file(one, state))

    dbt_state.record_built(
        one, {"model.p.stg": "f"}, {"results": [{"unique_id": "model.p.stg", "status": "success"}]}, state
    )
    dbt_state.forget(one, state)
    assert list(state.iterdir()) == []
    assert not dbt_state.seed_partial_parse(one, tmp_path / "after", state)


def test_a_step_selecting_only_left_out_views_and_their_tests_has_nothing_to_build() -> None:
    manifest = _manifest()
    manifest["nodes"]["test.p.not_null_on_fact"] = _node("test", ["model.p.on_fact"], resource_type="test")
    manifest["nodes"]["test.p.rows_match"] = _node(
        "test", ["model.p.on_fact", "model.p.fact"], resource_type="test"
    )
    unchanged = ["model.p.on_fact", "model.p.stg"]
    assert dbt_state.all_left_out(manifest, ["model.p.on_fact", "test.p.not_null_on_fact"], unchanged)
    assert dbt_state.all_left_out(manifest, [], unchanged)
    # a test that also reads a rebuilt node runs; so does any node not left out
    assert not dbt_state.all_left_out(manifest, ["model.p.on_fact", "test.p.rows_match"], unchanged)
    assert not dbt_state.all_left_out(manifest, ["model.p.on_fact", "model.p.on_dim"], unchanged)
    assert not dbt_state.all_left_out(manifest, ["test.p.unknown"], unchanged)


@pytest.mark.slow
def test_a_second_daily_run_leaves_the_views_alone_until_one_changes_or_goes_missing(
    database_factory: Callable[[str], str], tmp_path: Path
) -> None:
    url = database_factory("dbt_state")
    with psycopg.connect(url) as conn, conn.transaction():
        for stream in [s for c in CONNECTORS.values() for s in c.streams.values()] + list(
            CSV_STREAMS.values()
        ):
            ensure_raw_table(conn, stream)
    daily = DailyDbt(url, tmp_path)

    first = daily.daily_run()
    views = {uid for uid in first if uid.startswith("model.") and "hourly" not in uid}
    assert "model.adsignal.stg_meta__ads" in first and "seed.adsignal.fx_rates" in first

    second = daily.daily_run()
    assert "model.adsignal.stg_meta__ads" not in second and "seed.adsignal.fx_rates" not in second
    assert "model.adsignal.fct_ad_performance_daily" in second  # the window's incremental marts still run
    assert "model.adsignal.dim_ads" in second
    assert len(second) < len(first) / 2, (len(first), len(second))
    # Only views on tables dbt replaces run again (its drop ... cascade takes them along).
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    rerun_views = {
        uid for uid in second & views if manifest["nodes"][uid]["config"]["materialized"] == "view"
    }
    assert rerun_views == {
        uid
        for uid in rerun_views
        if any(
            manifest["nodes"][parent]["config"].get("materialized") == "table"
            for parent in manifest["nodes"][uid]["depends_on"]["nodes"]
            if parent in manifest["nodes"]
        )
    }

    # A view's SQL changes: it and the views on it are rebuilt, the others are not.
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    model = project / "models" / "staging" / "meta" / "stg_meta__ads.sql"
    model.write_text(model.read_text() + "\n-- edited\n")
    changed = daily.daily_run(project)
    assert {"model.adsignal.stg_meta__ads", "model.adsignal.int_ads__unioned"} <= changed
    assert "model.adsignal.stg_tiktok__ads" not in changed

    # A view that went missing (a fresh or restored database) is rebuilt.
    node = manifest["nodes"]["model.adsignal.stg_tiktok__ads"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop view {}.{} cascade").format(
                sql.Identifier(node["schema"]), sql.Identifier(node["alias"])
            )
        )
    assert "model.adsignal.stg_tiktok__ads" in daily.daily_run(project)
