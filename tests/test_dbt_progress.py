"""dbt's output on the terminal: a node counter, every problem and the summary; all of it in the log file."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from pipeline.dbt_progress import PROGRESS_EVERY, CompactDbtOutput, compact_dbt_output

PREAMBLE = [
    "Running with dbt=1.11.0",
    "Registered adapter: postgres=1.11.0",
    "Found 48 models, 431 data tests",
]
SUMMARY = ["", "Finished running 1 view model, 2 data tests in 0 hours 0 minutes and 1.20 seconds (1.20s).", "",
           "Completed with 1 warning:", "Warning in test not_null_x (models/x.yml)", "Done. PASS=2 WARN=1 TOTAL=3"]  # fmt: skip


def node_lines(total: int, warn_at: int | None = None) -> list[str]:
    lines = []
    for n in range(1, total + 1):
        lines.append(f"{n} of {total} START test test_{n} .......... [RUN]")
        status = "WARN 2" if n == warn_at else "PASS"
        lines.append(f"{n} of {total} {status} test_{n} .......... [{status} in 0.05s]")
    return lines


class Terminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_without_a_terminal_every_problem_a_counter_line_and_the_summary_show_and_the_log_keeps_all() -> None:
    lines = [*PREAMBLE, *node_lines(2 * PROGRESS_EVERY + 3, warn_at=7), *SUMMARY]
    log, terminal = io.StringIO(), Terminal(tty=False)
    output = CompactDbtOutput(log, terminal)
    for line in lines:  # dagster-dbt writes line by line; a split write must not matter
        output.write(line[:5])
        output.write(line[5:] + "\n")
    shown = terminal.getvalue().splitlines()
    total = 2 * PROGRESS_EVERY + 3
    assert log.getvalue().splitlines() == lines
    assert shown == [
        f"7 of {total} WARN 2 test_7 .......... [WARN 2 in 0.05s]",
        f"dbt {PROGRESS_EVERY}/{total} nodes done",
        f"dbt {2 * PROGRESS_EVERY}/{total} nodes done",
        f"dbt {total}/{total} nodes done",
        *[line for line in SUMMARY if line],
    ]


def test_on_a_terminal_the_current_node_is_rewritten_in_place() -> None:
    terminal = Terminal(tty=True)
    output = CompactDbtOutput(io.StringIO(), terminal)
    output.write("\n".join([*PREAMBLE, *node_lines(3), *SUMMARY]) + "\n")
    shown = terminal.getvalue()
    assert "\r\033[Kdbt 3/3 test_3" in shown
    assert shown.count("\n") == len([line for line in SUMMARY if line]) + 1  # the progress line ends once


def test_compact_output_writes_the_log_file_and_restores_stdout(tmp_path: Path) -> None:
    before = sys.stdout
    with compact_dbt_output(tmp_path / "logs" / "dbt.log") as log_path:
        print("1 of 1 START sql view model staging.stg_x .... [RUN]")
    assert sys.stdout is before
    assert "stg_x" in log_path.read_text()
