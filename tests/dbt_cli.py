"""dbt as a subprocess against one test database, with its own target and log paths (dbt_project/target
is shared by every run on this checkout)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pipeline.config import DBT_PROJECT_DIR, executable, settings
from pipeline.warehouse import dbt_state
from pipeline.warehouse.db import dbt_env

TESTS_DBT_STATE_DIR = settings().data_dir / "dbt_state" / "tests"


def run_dbt(
    url: str,
    workdir: Path,
    *args: str,
    project_dir: Path = DBT_PROJECT_DIR,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """``dbt *args`` on the database at ``url`` (``env``: more environment, e.g. the run's window);
    the finished process, whatever its exit code. Starts from the partial parse the last direct run on
    this database left (the pipeline's own runs keep theirs apart: their data tests' severity differs)."""
    target = workdir / "target"
    if not (target / dbt_state.PARTIAL_PARSE_FILE).exists():
        dbt_state.seed_partial_parse(url, target, TESTS_DBT_STATE_DIR)
    proc = subprocess.run(
        [executable("dbt"), *args, "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(workdir / "logs")],
        cwd=project_dir, env={**os.environ, **dbt_env(url), **(env or {})}, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode == 0 and project_dir == DBT_PROJECT_DIR:
        dbt_state.keep_partial_parse(url, target, TESTS_DBT_STATE_DIR)
    return proc


def dbt_ok(
    url: str,
    workdir: Path,
    *args: str,
    project_dir: Path = DBT_PROJECT_DIR,
    env: Mapping[str, str] | None = None,
) -> str:
    """``run_dbt`` that must succeed; its output (the last 40 lines in the failure message)."""
    proc = run_dbt(url, workdir, *args, project_dir=project_dir, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"dbt {' '.join(args)} failed:\n" + "\n".join(output.splitlines()[-40:])
    return output
