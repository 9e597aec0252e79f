"""Where a CSV import keeps what it read until it loads it: a spool directory per import, on disk.

Rows go to one file per account, bad rows to one file, the keys seen to SQLite (``SeenKeys``), so
an import's memory does not grow with its file. Spools live under ``<data dir>/spool``; each is
locked (``flock``) by its process, and one whose process died (``kill -9``) is removed by the next
import.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from pipeline.config import settings
from pipeline.connectors.csv_import import BadRow

PAGE_SIZE = 1_000
SPOOL_PREFIX = "import-"
MAX_OPEN_SPOOL_FILES = 64  # a file of many accounts must not run out of file descriptors
CLAIM_SECONDS = 60  # a spool's lock file under its temporary name is only that young while claimed


def spool_root() -> Path:
    """Where imports spool their rows: under the data directory, not /tmp (large, and cleaned up)."""
    return settings().data_dir / "spool"


class ImportSpool:
    """One import's spool directory, locked (``flock``) by its process for as long as it runs.

    The lock is taken on a file with a temporary name that is then renamed, so another process never
    sees an unlocked lock file of a live import; when the process dies, even by ``kill -9``, the
    kernel releases the lock and ``remove_stale_spools`` may delete the directory.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        remove_stale_spools(root)
        name = f"{SPOOL_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
        claiming = root / f".{name}.claim"
        self._lock_fd = os.open(claiming, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self.lock_path = claiming.rename(root / f"{name}.lock")
        self.path = root / name
        self.path.mkdir(mode=0o700)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)

    def __enter__(self) -> ImportSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_stale_spools(root: Path) -> list[str]:
    """Delete the spools under ``root`` whose process is gone (their lock is free); their names."""
    removed = []
    claims = [p for p in root.glob(f".{SPOOL_PREFIX}*.claim") if time.time() - _mtime(p) > CLAIM_SECONDS]
    for lock_path in sorted([*root.glob(f"{SPOOL_PREFIX}*.lock"), *claims]):
        try:
            fd = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:  # removed meanwhile by another import
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its import is running
            os.close(fd)
            continue
        try:
            name = lock_path.name.removeprefix(".").removesuffix(".lock").removesuffix(".claim")
            shutil.rmtree(root / name, ignore_errors=True)
            lock_path.unlink(missing_ok=True)
            removed.append(name)
        finally:
            os.close(fd)
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


class AccountSpools:
    """Good rows per account, one file each, written while the rest of the file is read.

    At most MAX_OPEN_SPOOL_FILES are open at once (least recently written closed first), so a file
    with thousands of accounts needs no more file descriptors than one with a few.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._index: dict[tuple[str, str], int] = {}
        self._open: OrderedDict[int, BinaryIO] = OrderedDict()

    def __contains__(self, account: tuple[str, str]) -> bool:
        return account in self._index

    def _path(self, index: int) -> Path:
        return self.directory / f"account-{index}.jsonl"

    def add(self, account: tuple[str, str], record: dict[str, Any]) -> None:
        index = self._index.setdefault(account, len(self._index))
        handle = self._open.get(index)
        if handle is None:
            if len(self._open) >= MAX_OPEN_SPOOL_FILES:
                self._open.popitem(last=False)[1].close()
            handle = self._open[index] = self._path(index).open("ab")
        else:
            self._open.move_to_end(index)
        handle.write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()

    def pages(self, account: tuple[str, str]) -> Iterator[list[dict[str, Any]]]:
        self.close()
        page: list[dict[str, Any]] = []
        with self._path(self._index[account]).open("rb") as handle:
            for line in handle:
                page.append(orjson.loads(line))
                if len(page) == PAGE_SIZE:
                    yield page
                    page = []
        if page:
            yield page


class BadRowSpool:
    """Rows for the quarantine, on disk in file order (a bad row may hold up to megabytes of cells)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self.duplicates = 0
        self.first: BadRow | None = None
        self._handle: BinaryIO | None = path.open("wb")

    def add(self, row: BadRow) -> None:
        assert self._handle is not None
        self.first = self.first or row
        self.rows += 1
        self.duplicates += row.is_duplicate
        account_id = row.account[1] if row.account else None
        self._handle.write(orjson.dumps([account_id, row.line_number, row.reason, row.payload]) + b"\n")

    def close(self) -> None:
        if self._handle:
            self._handle.close()
            self._handle = None

    def __iter__(self) -> Iterator[tuple[str | None, int, str, dict[str, Any]]]:
        self.close()
        with self.path.open("rb") as handle:
            for line in handle:
                account_id, line_number, reason, payload = orjson.loads(line)
                yield account_id, line_number, reason, payload
