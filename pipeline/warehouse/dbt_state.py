"""Which dbt views and seeds a run may leave alone: those built before from the same definition.

A daily run rebuilds what its window touches (incremental marts, the tables they feed, their tests).
Views and seeds hold no data of their own window: they change only when the project changes. So a
run skips a view or seed when (1) its relation exists, (2) the fingerprint it was last built with
(its SQL or file checksum, config, the nodes it reads, the macros it calls and ``dbt_project.yml``) equals today's, and
(3) no parent is rebuilt by dropping it (a table: dbt drops the old table with ``cascade``, which
takes dependent views along). Skipped nodes' tests are skipped with them (dbt's eager indirect
selection); they ran when the node was last built.

The fingerprints of what was built live in a small JSON file under the data dir, one per warehouse
(keyed by its URL without the password); a fresh database is caught by (1).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from pipeline.config import settings

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
SKIPPABLE_MATERIALIZATIONS = frozenset({"view", "seed"})
# Rebuilding these keeps the relation in place (delete + insert, truncate + insert), so views on them survive.
KEPT_IN_PLACE = frozenset({"incremental", "seed", "view", "ephemeral"})


def _materialization(node: Mapping[str, Any]) -> str:
    return "seed" if node["resource_type"] == "seed" else node.get("config", {}).get("materialized", "")


def _macro_sql(manifest: Mapping[str, Any], macro_ids: Iterable[str]) -> list[str]:
    """The SQL of the macros called, and of the macros those call (dbt's own included)."""
    seen: set[str] = set()
    pending = list(macro_ids)
    while pending:
        macro_id = pending.pop()
        if macro_id in seen or macro_id not in manifest["macros"]:
            continue
        seen.add(macro_id)
        pending.extend(manifest["macros"][macro_id].get("depends_on", {}).get("macros", []))
    return [manifest["macros"][m]["macro_sql"] for m in sorted(seen)]


def node_fingerprints(manifest: Mapping[str, Any], project_file: Path) -> dict[str, str]:
    """unique_id -> fingerprint of every view and seed of the project."""
    project_text = project_file.read_text()
    fingerprints = {}
    for unique_id, node in manifest["nodes"].items():
        if _materialization(node) not in SKIPPABLE_MATERIALIZATIONS:
            continue
        parts = [
            project_text,
            node.get("checksum", {}).get("checksum", ""),
            node.get("relation_name") or "",
            json.dumps(node.get("config", {}), sort_keys=True, default=str),
            # what it reads: a union gains a platform's staging model through the registry, not its SQL
            json.dumps(sorted(node.get("depends_on", {}).get("nodes", []))),
            *_macro_sql(manifest, node.get("depends_on", {}).get("macros", [])),
        ]
        fingerprints[unique_id] = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    return fingerprints


def _relation(node: Mapping[str, Any]) -> tuple[str, str]:
    return node["schema"], node.get("alias") or node["name"]


def skippable_nodes(
    manifest: Mapping[str, Any],
    fingerprints: Mapping[str, str],
    built: Mapping[str, str],
    existing: set[tuple[str, str]],
) -> list[str]:
    """The views and seeds a run may leave out (unique_ids, sorted)."""
    nodes = manifest["nodes"]
    decided: dict[str, bool] = {}

    def skippable(unique_id: str) -> bool:
        if unique_id not in decided:
            decided[unique_id] = False  # cycles cannot happen in dbt; this guards recursion anyway
            node = nodes[unique_id]
            decided[unique_id] = (
                unique_id in fingerprints
                and built.get(unique_id) == fingerprints[unique_id]
                and _relation(node) in existing
                and all(
                    _materialization(nodes[parent]) in KEPT_IN_PLACE
                    and (_materialization(nodes[parent]) == "incremental" or skippable(parent))
                    for parent in node.get("depends_on", {}).get("nodes", [])
                    if parent in nodes
                )
            )
        return decided[unique_id]

    return sorted(uid for uid in fingerprints if skippable(uid))


def all_left_out(manifest: Mapping[str, Any], selected: Iterable[str], unchanged: Iterable[str]) -> bool:
    """Whether a run selecting ``selected`` (unique_ids of models, seeds and tests) builds nothing once
    ``unchanged`` is left out: each node is left out, and each test reads only left-out nodes (dbt's
    eager indirect selection skips those with them)."""
    left_out = set(unchanged)
    for unique_id in selected:
        if unique_id in left_out:
            continue
        node = manifest["nodes"].get(unique_id)
        parents = (node or {}).get("depends_on", {}).get("nodes", [])
        if node is None or node["resource_type"] != "test" or not parents or not set(parents) <= left_out:
            return False
    return True


def exclude_args(manifest: Mapping[str, Any], unique_ids: Iterable[str]) -> list[str]:
    """``--exclude`` arguments for dbt naming these nodes (by fully qualified name).

    One space-separated value: dagster-dbt re-attaches a runtime ``--exclude`` with its first value only.
    """
    selectors = ["fqn:" + ".".join(manifest["nodes"][uid]["fqn"]) for uid in unique_ids]
    return ["--exclude", " ".join(selectors)] if selectors else []


# --- the warehouse side: which relations exist, what was built with which fingerprint ----------


def row_counts_of_built(url: str, manifest: Mapping[str, Any], unique_ids: Iterable[str]) -> dict[str, int]:
    """Rows in each table or incremental model among ``unique_ids`` (views are not counted: that runs them)."""
    nodes = manifest["nodes"]
    countable = [
        unique_id
        for unique_id in unique_ids
        if unique_id in nodes and _materialization(nodes[unique_id]) not in ("view", "ephemeral", "", "test")
    ]
    if not countable:  # most of a run's outputs are views: no connection for them
        return {}
    counts: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for unique_id in countable:
            # schema and name, not the manifest's relation_name: that one names the database it was parsed for
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(*_relation(nodes[unique_id])))
            counts[unique_id] = conn.execute(query).fetchone()[0]
    return counts


def existing_relations(url: str, schemas: Iterable[str]) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_schema = any(%s)",
            (sorted(set(schemas)),),
        ).fetchall()
    return {(schema, name) for schema, name in rows}


def state_file(url: str, state_dir: Path | None = None) -> Path:
    """Where this warehouse's built fingerprints live (default: <data dir>/dbt_state/<key>.json)."""
    params = conninfo_to_dict(url)
    params.pop("password", None)
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return (state_dir or settings().data_dir / "dbt_state") / f"{key}.json"


def partial_parse_file(url: str, state_dir: Path | None = None) -> Path:
    """This warehouse's own copy of dbt's partial parse. dbt re-parses the whole project (seconds per
    invocation) when the connection it parsed for differs (its database, host or port are part of the
    parse): one shared copy would flip between warehouses, so each keeps the one its last build left."""
    return state_file(url, state_dir).with_suffix(".partial_parse.msgpack")


def seed_partial_parse(url: str, target_path: Path, state_dir: Path | None = None) -> bool:
    """Start a dbt invocation in ``target_path`` from this warehouse's partial parse; False when there
    is none yet. dbt checks it and re-parses whatever changed, so a stale copy is only slower."""
    kept = partial_parse_file(url, state_dir)
    if not kept.exists():
        return False
    target_path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kept, target_path / PARTIAL_PARSE_FILE)
    return True


def keep_partial_parse(url: str, target_path: Path, state_dir: Path | None = None) -> None:
    """Keep the partial parse a finished invocation wrote for the next one on this warehouse."""
    written = target_path / PARTIAL_PARSE_FILE
    if not written.exists():
        return
    _write_atomically(partial_parse_file(url, state_dir), written.read_bytes())


def forget(url: str, state_dir: Path | None = None) -> None:
    """Remove what this module keeps for a warehouse (fingerprints, partial parse): for a dropped database."""
    state_file(url, state_dir).unlink(missing_ok=True)
    partial_parse_file(url, state_dir).unlink(missing_ok=True)


def load_built(url: str, state_dir: Path | None = None) -> dict[str, str]:
    path = state_file(url, state_dir)
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def record_built(
    url: str,
    fingerprints: Mapping[str, str],
    run_results: Mapping[str, Any],
    state_dir: Path | None = None,
) -> None:
    """Remember the fingerprint of each view and seed this run built; forget those that failed."""
    built = load_built(url, state_dir)
    for result in run_results.get("results", []):
        unique_id = result.get("unique_id")
        if unique_id not in fingerprints:
            continue
        if result.get("status") == "success":
            built[unique_id] = fingerprints[unique_id]
        else:
            built.pop(unique_id, None)
    _write_atomically(state_file(url, state_dir), json.dumps(built, sort_keys=True, indent=1).encode())


def _write_atomically(path: Path, data: bytes) -> None:
    """A concurrent run reads the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def unchanged_nodes(
    url: str, manifest: Mapping[str, Any], project_file: Path, state_dir: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """(views and seeds this warehouse may skip, today's fingerprints to record after the run)."""
    fingerprints = node_fingerprints(manifest, project_file)
    schemas = {manifest["nodes"][uid]["schema"] for uid in fingerprints}
    existing = existing_relations(url, schemas) if fingerprints else set()
    return skippable_nodes(manifest, fingerprints, load_built(url, state_dir), existing), fingerprints
