"""Staging stays 1:1 with sources (issue 12): every stg_ model reads exactly one raw table and no other
model; joins between a platform's tables live in its int_<platform>__ models, next to its staging
models (one folder per platform) but built in schema intermediate. Reads the parsed project only."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from pipeline.platforms import PLATFORMS


@pytest.fixture(scope="module")
def models() -> dict[str, Mapping[str, Any]]:
    from pipeline.defs.transform import dbt_manifest_path

    nodes = json.loads(dbt_manifest_path().read_text())["nodes"]
    return {n["name"]: n for n in nodes.values() if n["resource_type"] == "model"}


def test_every_staging_model_reads_exactly_one_source_and_no_model(models):
    staging = {name: node for name, node in models.items() if name.startswith("stg_")}
    assert staging
    wrong = {
        name: node["depends_on"]["nodes"]
        for name, node in staging.items()
        if [p.split(".")[0] for p in node["depends_on"]["nodes"]] != ["source"]
    }
    assert not wrong, f"stg_ models must read one source and no model (joins go to int_ models): {wrong}"


def test_the_staging_schema_holds_only_staging_models(models):
    """Everything in the staging folders is a stg_ view of one source or an int_ model built in intermediate."""
    for name, node in models.items():
        if node["fqn"][1] != "staging":
            continue
        assert name.startswith(("stg_", "int_")), name
        assert node["schema"] == ("staging" if name.startswith("stg_") else "intermediate"), name
        assert node["config"]["materialized"] == "view", name


def test_a_platforms_models_live_in_its_own_folder(models):
    """Adding a platform touches its staging folder only: the models the unions read, and everything
    they build on short of the raw tables, are that platform's stg_/int_ models in that folder."""
    for spec in PLATFORMS:
        pending = list(spec.staging.values())
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            node = models[name]
            assert node["fqn"][1:3] == ["staging", spec.name], f"{spec.name}: {name} is not in its folder"
            assert name.startswith((f"stg_{spec.name}__", f"int_{spec.name}__")), name
            pending += [p.rsplit(".", 1)[-1] for p in node["depends_on"]["nodes"] if p.startswith("model.")]
