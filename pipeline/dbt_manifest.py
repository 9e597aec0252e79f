"""Prepare the dbt manifest the Dagster code location loads (never parsed at import)."""

from __future__ import annotations

import os
import subprocess

from pipeline.config import DBT_PROJECT_DIR, executable

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"


def prepare_manifest(url: str | None = None) -> None:
    """``dbt parse`` into ``dbt_project/target/manifest.json``; connects to no database.

    With ``url`` the manifest names that database in its relations, so Dagster's row-count
    queries after a run address the right one.
    """
    from pipeline.platforms import DBT_STAGING_MODELS_ENV, dbt_staging_models_json
    from pipeline.warehouse.db import PIPELINE_DBT_RUN_ENV, dbt_env

    # The unions' refs to every connector's staging models are fixed at parse time: always pass them.
    # Parsed as the pipeline runs dbt, so its runs (which copy target/partial_parse.msgpack) re-parse nothing.
    env = {
        **os.environ,
        DBT_STAGING_MODELS_ENV: dbt_staging_models_json(),
        **(dbt_env(url) if url else {}),
        **PIPELINE_DBT_RUN_ENV,
    }
    subprocess.run(
        [executable("dbt"), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
