"""The layers hold: SQL lives in pipeline/warehouse stores (and dbt), not in the Dagster wiring, the CLI
commands or the modules that orchestrate them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[1] / "pipeline"
SQL_FREE = sorted(
    [
        *PIPELINE.glob("defs/*.py"),
        *PIPELINE.glob("commands/*.py"),
        PIPELINE / "connections.py",
        PIPELINE / "execution.py",
        PIPELINE / "summary.py",
        PIPELINE / "rule_runs.py",
        PIPELINE / "notifications" / "dispatch.py",
    ]
)
SQL = re.compile(
    r"\b(select\s[\s\S]*?\sfrom\s|insert\s+into\s|update\s+[\w.]+\s+set\s|delete\s+from\s|create\s+(table|index|view)\s)",
    re.IGNORECASE,
)


def sql_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and SQL.search(node.value)
    ]


@pytest.mark.parametrize("path", SQL_FREE, ids=lambda p: str(p.relative_to(PIPELINE)))
def test_no_sql_outside_the_stores(path: Path) -> None:
    assert sql_strings(path) == [], f"{path.name}: move these statements into a pipeline/warehouse store"


def test_the_check_sees_sql(tmp_path: Path) -> None:
    """The pattern catches a statement if one comes back (a check that cannot fail proves nothing)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""A docstring may say: select the rows you need."""\n'
        'COUNT = "select count(*) from app.alerts where status = %s"\n'
        'MESSAGE = "nothing to select here"\n'
    )
    assert [line for line, _ in sql_strings(sample)] == [2]
