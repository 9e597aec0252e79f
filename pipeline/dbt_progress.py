"""dbt's progress as one line per node ("dbt 12/182 OK marts.dim_ads"), its full log in a file.

dagster-dbt re-emits every dbt log line on stdout: some 1,500 lines for a backfill, which bury what
a person running ``make demo`` or ``adsignal materialize`` wants to see. While a dbt asset runs,
:func:`compact_dbt_output` sends stdout through :class:`CompactDbtOutput`: every line goes to a log
file under the data dir; the terminal gets the node counter (rewritten in place on a terminal, every
``PROGRESS_EVERY`` nodes otherwise), every warning, error and failure line, and dbt's closing summary.
``ADSIGNAL_DBT_VERBOSE=1`` keeps dbt's full output on the terminal.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TextIO

from pipeline.config import settings

# "12 of 182 START sql table model marts.dim_ads .... [RUN]", "... OK created ...", "... PASS ...".
NODE_LINE = re.compile(
    r"^(?P<n>\d+) of (?P<total>\d+) (?P<status>START|OK|PASS|WARN|ERROR|FAIL|SKIP)\b(?P<rest>.*)$"
)
LOUD_STATUSES = frozenset({"WARN", "ERROR", "FAIL"})
PROGRESS_EVERY = 25  # without a terminal: one progress line per this many finished nodes
END_OF_NODES = "Finished running"  # after this dbt prints its summary and each problem: all shown


def dbt_log_path(name: str) -> Path:
    """Where the latest run of the dbt asset ``name`` keeps dbt's full output."""
    return settings().data_dir / "logs" / f"{name}.log"


def _node_name(rest: str) -> str:
    """The node's relation or test name out of dbt's '<kind> model schema.name .... [status]'."""
    words = re.sub(r"\s*\.{3,}.*$", "", rest).split()
    return words[-1] if words else ""


class CompactDbtOutput(io.TextIOBase):
    """A text stream: everything into ``log``, a compact progress display onto ``terminal``."""

    def __init__(self, log: TextIO, terminal: TextIO) -> None:
        self.log = log
        self.terminal = terminal
        self.in_place = terminal.isatty()
        self.finished_nodes = 0
        self.after_nodes = False
        self.line_open = False  # an in-place progress line is on the terminal, not yet ended
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.log.write(text)
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            self._show(line.rstrip("\r"))
        return len(text)

    def flush(self) -> None:
        self.log.flush()
        self.terminal.flush()

    def _print(self, line: str) -> None:
        self.end_line()
        self.terminal.write(line + "\n")

    def end_line(self) -> None:
        if self.line_open:
            self.terminal.write("\n")
            self.line_open = False

    def _show(self, line: str) -> None:
        if self.after_nodes:
            if line.strip():
                self._print(line)
            return
        if END_OF_NODES in line:
            self.after_nodes = True
            self._print(line)
            return
        match = NODE_LINE.match(line.strip())
        if match is None:
            return
        status, n, total = match["status"], int(match["n"]), int(match["total"])
        if status == "START":
            if self.in_place:
                self.terminal.write(f"\r\033[Kdbt {n}/{total} {_node_name(match['rest'])}")
                self.line_open = True
            return
        self.finished_nodes += 1
        if status in LOUD_STATUSES:
            self._print(line.strip())
        elif not self.in_place and (
            self.finished_nodes % PROGRESS_EVERY == 0 or self.finished_nodes == total
        ):
            self._print(f"dbt {self.finished_nodes}/{total} nodes done")


@contextmanager
def compact_dbt_output(log_path: Path) -> Iterator[Path]:
    """While inside: stdout as :class:`CompactDbtOutput` (dbt's full output in ``log_path``)."""
    if os.environ.get("ADSIGNAL_DBT_VERBOSE"):
        yield log_path
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    terminal = sys.stdout
    with log_path.open("w", encoding="utf-8") as log:
        stream = CompactDbtOutput(log, terminal)
        try:
            with redirect_stdout(stream):
                yield log_path
        finally:
            stream.end_line()
            terminal.flush()
