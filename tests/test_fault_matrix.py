"""The fault matrix: every fault on every platform leaves the raw tables of a clean run.

Cells: {sustained 429 storm, 5xx burst, timeouts, token expiry mid-sync, malformed JSON, truncated
page, async report failure and stuck job (Meta and Microsoft Advertising: the platforms with async
reports), restated values, a page delivered twice, kill -9 of the syncing process} x {every
registered platform}. Each cell empties its platform's raw tables, syncs a
two-day window through the sandbox (this process, pinned clock) with its faults, syncs again, and
compares counts, keys, payloads and spend with a clean run's. A faulted sync that reports success
must already hold the clean data. Kills are SIGKILL to a child process syncing. The per-platform
mart comparison (one dbt build for the clean run, one for all platforms' faults combined) is in
test_fault_matrix_marts.py; CSV imports' faults in test_fault_matrix_csv.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from pipeline.config import PROJECT_ROOT
from pipeline.connections import sandbox_connection
from pipeline.connectors import CONNECTORS
from pipeline.ingest import sync_connections
from pipeline.sandbox.server import ROUTERS, SANDBOX_TOKENS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from tests.raw_snapshot import raw_snapshot, raw_tables

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 15)
NOON = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
WINDOW = (TODAY - timedelta(2), TODAY - timedelta(1))
PLATFORMS = sorted(ROUTERS)
# Short timeouts so a timeout fault costs seconds; a stuck report job given up on within about a
# second (Meta counts its compressed 0.05 s polls, Microsoft its own clock of 1, 2, 4 ... 15 s polls).
POLL_TIMEOUTS = {"meta": 1.0, "microsoft_ads": 60.0}
CONNECTOR_OPTIONS: dict[str, dict[str, Any]] = {
    platform: {"timeout": 2.0}
    | ({"poll_timeout": POLL_TIMEOUTS[platform]} if platform in POLL_TIMEOUTS else {})
    for platform in PLATFORMS
}
# The request that carries a platform's performance records (faults "mid-sync" aim there): the router says.
REPORT_PATH = {platform: ROUTERS[platform].REPORT_PATH for platform in PLATFORMS}
DOWNLOAD_PATH = {"microsoft_ads": "/reports/download/"}  # where its records arrive


@dataclass(frozen=True)
class Fault:
    kind: str
    times: int = 1
    path: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    skip: int = 0  # matching requests let through first: the fault lands mid-sync


def faults_of(platform: str) -> dict[str, list[Fault]]:
    """The matrix's request faults for ``platform`` (a fault the platform cannot have is absent)."""
    report = REPORT_PATH[platform]
    expiry = {
        "meta": Fault("bad_token", path=report, params=(("subcode", 463),), skip=1),
    }.get(platform, Fault("token_expired", path=report, skip=1))
    cells: dict[str, list[Fault]] = {
        "storm_429": [Fault("throttle", times=6, path=report)],
        "burst_5xx": [Fault("server_error", times=3, path=report)],
        "timeouts": [Fault("timeout", times=2, path=report, params=(("seconds", 3),))],
        "token_expiry": [expiry],
        "malformed_json": [Fault("malformed_json", path=report, skip=1)],
        "truncated_page": [Fault("truncated_json", path=report, skip=1)],
        "duplicate_page": [Fault("duplicate_page", path=DOWNLOAD_PATH.get(platform, report))],
    }
    if platform in DOWNLOAD_PATH:  # its records arrive in a zip: broken there too
        download = DOWNLOAD_PATH[platform]
        cells["malformed_json"].append(Fault("corrupt_zip", path=download, params=(("mode", "garbage"),)))
        cells["truncated_page"].append(Fault("corrupt_zip", path=download, params=(("mode", "truncated"),)))
    if platform == "meta":
        cells["async_failure"] = [Fault("async_failed")]
        cells["async_stuck"] = [Fault("async_stuck")]
    if platform == "microsoft_ads":
        cells["async_failure"] = [Fault("report_error")]
        cells["async_stuck"] = [Fault("report_stuck")]
    return cells


# Cells whose faulted sync must fail (the next run recovers): a storm longer than the connectors'
# 5-attempt budget, and an expired token where there is no refresh token (a person reconnects).
# Every other fault the connector absorbs: its first sync succeeds with the clean data.
MUST_FAIL = {(p, "storm_429") for p in PLATFORMS} | {
    (p, "token_expiry")
    for p in PLATFORMS
    if not hasattr(ROUTERS[p], "TOKEN_PATH")  # no OAuth refresh
}
REQUEST_CELLS = [(p, name) for p in PLATFORMS for name in faults_of(p)]
SPECIAL_CELLS = [(p, name) for p in PLATFORMS for name in ("restated_values", "kill_9")]


def streams(platform: str) -> tuple[list[str], list[str]]:
    """(entity streams, daily streams) of a platform: what a daily run syncs."""
    all_streams = [s for s in CONNECTORS[platform].streams.values() if not s.is_hourly]
    return [s.name for s in all_streams if not s.window_column], [
        s.name for s in all_streams if s.window_column
    ]


def sync(url: str, sandbox: SandboxServer, platform: str) -> Exception | None:
    """One daily sync of ``platform`` (entities, then the window); the error if it failed."""
    entities, daily = streams(platform)
    connections = [sandbox_connection(platform, sandbox.url)]
    options = CONNECTOR_OPTIONS[platform]
    try:
        sync_connections(url, connections, entities, **options)
        sync_connections(url, connections, daily, since=WINDOW[0], until=WINDOW[1], **options)
    except Exception as exc:  # the cell re-runs; the error is kept for the assertion message
        return exc
    return None


def wipe(url: str, platform: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in raw_tables(conn, platform):
            conn.execute(f'delete from raw."{table}"')


def snapshot(url: str, platform: str) -> dict[str, tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return raw_snapshot(conn, platform)


def running_syncs(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("select count(*) from raw.sync_runs where status = 'running'").fetchone()[0]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    world = World(default_scenario(today=TODAY, history_days=5))
    world.now = NOON
    with SandboxServer(world) as server:
        yield server


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    return database_factory("fault_matrix")


@pytest.fixture(scope="module")
def clean(url: str, sandbox: SandboxServer) -> dict[str, dict[str, tuple]]:
    """Each platform's raw tables after a clean sync (and a second one: a re-run changes nothing)."""
    snapshots = {}
    for platform in PLATFORMS:
        assert sync(url, sandbox, platform) is None
        snapshots[platform] = snapshot(url, platform)
        assert sync(url, sandbox, platform) is None
        assert snapshot(url, platform) == snapshots[platform]
        # Every synced stream landed rows (migrations create the hourly tables too; this sync leaves them empty).
        synced = {
            table: counts for table, counts in snapshots[platform].items() if not table.endswith("_hourly")
        }
        assert all(count for count, *_ in synced.values()), synced
    return snapshots


@pytest.mark.parametrize(("platform", "cell"), REQUEST_CELLS, ids=[f"{p}-{c}" for p, c in REQUEST_CELLS])
def test_request_fault(
    platform: str, cell: str, url: str, sandbox: SandboxServer, clean: dict[str, dict[str, tuple]]
) -> None:
    wipe(url, platform)
    for fault in faults_of(platform)[cell]:
        sandbox.faults.add(
            platform, fault.kind, path=fault.path, times=fault.times, skip=fault.skip, **dict(fault.params)
        )
    try:
        error = sync(url, sandbox, platform)
        unused = [f.kind for f in sandbox.faults.pending(platform)]
    finally:
        sandbox.faults.clear()
    # Every fault was hit, unless the sync gave up under them (a storm longer than its retry budget).
    assert not unused or error is not None, f"faults never hit: the cell did not exercise {unused}"
    if (platform, cell) in MUST_FAIL:
        assert error is not None, "the faults were absorbed: the cell tests nothing"
        assert SANDBOX_TOKENS[platform] not in str(error), "the error shows the token"
    else:  # the connector absorbed the fault: what it loaded must be the clean data
        assert error is None, error
        assert snapshot(url, platform) == clean[platform]
    assert sync(url, sandbox, platform) is None
    assert snapshot(url, platform) == clean[platform], f"after {error!r}"
    assert running_syncs(url) == 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_restated_values(
    platform: str, url: str, sandbox: SandboxServer, clean: dict[str, dict[str, tuple]]
) -> None:
    """The platform restates recent days (attribution matures): a re-sync three days later holds the
    restated values, exactly as a first sync at that time would."""
    wipe(url, platform)
    assert sync(url, sandbox, platform) is None
    try:
        sandbox.world.now = NOON + timedelta(days=3)
        assert sync(url, sandbox, platform) is None
        resynced = snapshot(url, platform)
        wipe(url, platform)
        assert sync(url, sandbox, platform) is None
        assert snapshot(url, platform) == resynced
    finally:
        sandbox.world.now = NOON
    assert resynced != clean[platform], f"{platform} restated nothing: the cell tests nothing"
    assert running_syncs(url) == 0


CHILD_SYNC = """
import sys
from tests.test_fault_matrix import sync_in_child
sync_in_child(*sys.argv[1:])
"""


def sync_in_child(url: str, sandbox_url: str, platform: str) -> None:
    """What the killed child runs: the platform's daily sync, with the connectors' normal timeouts."""
    entities, daily = streams(platform)
    connections = [sandbox_connection(platform, sandbox_url)]
    sync_connections(url, connections, entities)
    sync_connections(url, connections, daily, since=WINDOW[0], until=WINDOW[1])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_kill_9_of_the_syncing_process(
    platform: str, url: str, sandbox: SandboxServer, clean: dict[str, dict[str, tuple]]
) -> None:
    wipe(url, platform)
    # The report request stalls (under the connector's 60 s timeout): the sync is running when killed.
    sandbox.faults.add(platform, "timeout", times=-1, path=REPORT_PATH[platform], seconds=10)
    child = subprocess.Popen([sys.executable, "-c", CHILD_SYNC, url, sandbox.url, platform], cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 120
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                assert child.poll() is None, f"the sync ended before it was killed ({child.returncode})"
                assert time.monotonic() < deadline, "no sync got to the stalled request"
                hit = any(f.hits for f in sandbox.faults.pending(platform))
                running = conn.execute(
                    "select sync_id from raw.sync_runs where status = 'running' and platform = %s",
                    (platform,),
                ).fetchall()
                if hit and running:
                    break
                time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        sandbox.faults.clear()
        if child.poll() is None:
            child.kill()
            child.wait()
    assert sync(url, sandbox, platform) is None
    assert snapshot(url, platform) == clean[platform]
    assert running_syncs(url) == 0
    with psycopg.connect(url, autocommit=True) as conn:
        (error,) = conn.execute(
            "select error from raw.sync_runs where sync_id = %s", (running[0][0],)
        ).fetchone()
    assert "died" in error
