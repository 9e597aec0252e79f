"""YAML definition files (rules, reports): read and parsed the same way, every problem one line.

Each kind of file has its own error class (``RuleFileError``, ``ReportFileError``) so callers catch
the one they mean; the reading, the YAML parsing and the message shape are shared here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


class DefinitionFileError(ValueError):
    """A definition file that cannot be used; ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[str], source: str | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(
            f"{where}{len(self.errors)} problem(s):\n" + "\n".join(f"  {e}" for e in self.errors)
        )


def read_definition_file(path: Path | str, error: type[DefinitionFileError]) -> str:
    """The file's UTF-8 text; ``error`` naming the file when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error([f"cannot read the file: {exc}"], source=str(path)) from exc


def parse_yaml(text: str, source: str | None, error: type[DefinitionFileError]) -> Any:
    """The YAML document; ``error`` with the line and column of a syntax problem."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error([f"{where}not valid YAML: {problem}"], source=source) from exc
