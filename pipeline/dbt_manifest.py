"""Prepare the dbt manifest the Dagster code location loads (never parsed at import)."""

from __future__ import annotations

import os
import subprocess

from pipeline.config import DBT_PROJECT_DIR, executable

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"


def prepare_manifest() -> None:
    """``dbt parse`` into ``dbt_project/target/manifest.json``; needs no database."""
    subprocess.run(
        [executable("dbt"), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR,
        env=os.environ.copy(),
        check=True,
    )
