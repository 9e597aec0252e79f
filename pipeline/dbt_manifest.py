"""Prepare the dbt manifest the Dagster code location loads (never parsed at import)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pipeline.config import DBT_PROJECT_DIR, executable
from pipeline.warehouse import dbt_state
from pipeline.warehouse.dbt_state import PARTIAL_PARSE_FILE

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"


def prepare_manifest(url: str | None = None) -> None:
    """``dbt parse`` into ``dbt_project/target/manifest.json``; connects to no database.

    With ``url`` the manifest is parsed for that database, as the pipeline's dbt runs see it: they
    start from its ``partial_parse.msgpack`` and re-parse nothing. The files are parsed aside and
    moved into place, so a code location loading meanwhile never reads half a manifest.
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
    target = MANIFEST_PATH.parent
    target.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".parse-") as aside:
        # Start from a partial parse where one is at hand (dbt re-parses what changed): the warehouse's own,
        # else the last one prepared here.
        previous = target / PARTIAL_PARSE_FILE
        if not (url and dbt_state.seed_partial_parse(url, Path(aside))) and previous.exists():
            shutil.copy2(previous, Path(aside) / PARTIAL_PARSE_FILE)
        subprocess.run(
            [
                executable("dbt"),
                "parse",
                "--quiet",
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                aside,
            ],
            cwd=DBT_PROJECT_DIR,
            env=env,
            check=True,
        )
        if url:  # the warehouse's own copy, which its dbt runs start from
            dbt_state.keep_partial_parse(url, Path(aside))
        for name in (PARTIAL_PARSE_FILE, "semantic_manifest.json", MANIFEST_PATH.name):  # the manifest last
            if (Path(aside) / name).exists():
                os.replace(Path(aside) / name, target / name)
