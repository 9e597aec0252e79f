"""The fault matrix's CSV column: the faults a file export can have, each followed by a re-import of
the good file, leave the raw tables of a clean import (counts, keys, payloads).

Cells: malformed rows, a truncated file (cut mid-row), duplicate delivery (the same file twice; every
row twice in one file), restated values (a corrected export replacing the first), kill -9 of the
importing process (a real SIGKILL to a child ``adsignal import``). Throttling, timeouts, tokens and
async reports do not apply to files.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from pipeline.config import PROJECT_ROOT
from pipeline.connectors.csv_import import FILE_NAME_KEY, LINE_NUMBER_KEY, SOURCE, CsvFormatError
from pipeline.imports import ImportFailed, import_file
from pipeline.sandbox.sample_import import HEADER, sample_rows
from tests.raw_snapshot import raw_snapshot, raw_tables

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 15)
DAYS = 5


def write(path: Path, rows: list[list[str]], *, raw_tail: str = "") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
        handle.write(raw_tail)
    return path


def good_rows(days: int = DAYS, seed: int = 7) -> list[list[str]]:
    return sample_rows(TODAY, days=days, seed=seed)


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    return database_factory("fault_matrix_csv")


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


def run_import(url: str, path: Path, spool: Path) -> Exception | None:
    try:
        import_file(url, path, today=TODAY, spool_dir=spool)
    except (CsvFormatError, ImportFailed) as exc:
        return exc
    return None


def wipe(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in raw_tables(conn, SOURCE):
            conn.execute(f'delete from raw."{table}"')


def snapshot(url: str) -> dict[str, tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return raw_snapshot(conn, SOURCE, lineage=(FILE_NAME_KEY, LINE_NUMBER_KEY))


@pytest.fixture(scope="module")
def clean(url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    folder = tmp_path_factory.mktemp("clean")
    wipe(url)
    assert run_import(url, write(folder / "clean.csv", good_rows()), folder / "spool") is None
    result = snapshot(url)
    assert result[f"{SOURCE}_ad_performance_daily"][0] > 0
    return result


def test_malformed_rows(url: str, clean: dict, tmp_path: Path, spool: Path) -> None:
    rows = good_rows()
    garbage = [["not", "a", "row"], [*rows[0][:11], "twelve", *rows[0][12:]], ["\x00" * 3] * len(HEADER)]
    wipe(url)
    assert run_import(url, write(tmp_path / "bad.csv", rows[:7] + garbage + rows[7:]), spool) is None
    assert snapshot(url) == clean  # the bad rows are quarantined, the good ones all loaded


def test_truncated_file(url: str, clean: dict, tmp_path: Path, spool: Path) -> None:
    full = write(tmp_path / "full.csv", good_rows())
    cut = tmp_path / "cut.csv"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3 - 7])  # ends in the middle of a row
    wipe(url)
    run_import(url, cut, spool)
    assert run_import(url, full, spool) is None
    assert snapshot(url) == clean


def test_duplicate_delivery(url: str, clean: dict, tmp_path: Path, spool: Path) -> None:
    rows = good_rows()
    wipe(url)
    twice = write(tmp_path / "twice.csv", rows + rows)  # every row delivered twice, in one file
    assert run_import(url, twice, spool) is None
    assert snapshot(url) == clean
    once = write(tmp_path / "once.csv", rows)
    assert run_import(url, once, spool) is None
    assert run_import(url, once, spool) is None  # the same file delivered again
    assert snapshot(url) == clean


def test_restated_values(url: str, clean: dict, tmp_path: Path, spool: Path) -> None:
    wipe(url)
    first = good_rows(seed=11)  # the same ads and days, other values
    assert run_import(url, write(tmp_path / "first.csv", first), spool) is None
    assert snapshot(url) != clean
    assert run_import(url, write(tmp_path / "restated.csv", good_rows()), spool) is None
    assert snapshot(url) == clean


CHILD_IMPORT = """
import sys
from pathlib import Path
from datetime import date, timedelta
from pipeline.imports import import_file
import_file(sys.argv[1], sys.argv[2], today=date.fromisoformat(sys.argv[3]), spool_dir=Path(sys.argv[4]))
"""


def test_kill_9_of_the_importing_process(url: str, clean: dict, tmp_path: Path, spool: Path) -> None:
    """A long file (years of days) gives the kill time to land while the import runs; the next
    import removes the dead one's spool and loads the clean data."""
    wipe(url)
    long_file = write(tmp_path / "long.csv", good_rows(days=3000))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADSIGNAL_")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_IMPORT, url, str(long_file), TODAY.isoformat(), str(spool)],
        cwd=PROJECT_ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while not (spool.exists() and any(spool.iterdir())):
            assert child.poll() is None, "the import ended before it was killed"
            assert time.monotonic() < deadline, "the import never started spooling"
            time.sleep(0.02)
        time.sleep(0.5)  # well inside the import: validating, spooling or loading
        assert child.poll() is None, "the import ended before it was killed"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert any(spool.iterdir()), "the killed import left no spool: the kill came too late"
    assert run_import(url, write(tmp_path / "good.csv", good_rows()), spool) is None
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select count(*) from raw.sync_runs where status = 'running' and platform = %s", (SOURCE,)
        ).fetchone()[0]
    assert rows == 0
    assert not [p for p in spool.iterdir() if p.is_dir()], "the dead import's spool is still there"
    # An account the killed import committed before the kill keeps its older days (a file is the
    # truth only for its own days): compare the good file's days.
    with psycopg.connect(url, autocommit=True) as conn:
        for table, keys in raw_tables(conn, SOURCE).items():
            if "date" in keys:
                conn.execute(f'delete from raw."{table}" where date < %s', (TODAY - timedelta(DAYS),))
    assert snapshot(url) == clean
