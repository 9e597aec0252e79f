"""A killed ``adsignal materialize`` must not block its platform: the next run completes, with the data
of a clean run.

Real processes and a real signal: ``adsignal materialize`` runs as a child process against a private
database, a DAGSTER_HOME of its own and the sandbox (served by this process, its clock pinned); it
is killed with SIGKILL while a sync is running, then ``materialize`` runs again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from pipeline.connections import sandbox_connection
from pipeline.connectors import CONNECTORS
from pipeline.dagster_runs import PID_TAG, PROCESS_STARTED_TAG, owner_is_gone, owner_tags
from pipeline.ingest import sync_connections
from pipeline.sandbox.server import ROUTERS, SandboxServer
from pipeline.sandbox.simulator import World, default_scenario
from tests.raw_snapshot import raw_snapshot

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 15)
FIRST, LAST = TODAY - timedelta(2), TODAY - timedelta(1)
RUN_TIMEOUT_S = 900  # a run waiting for a dead run's slot would wait forever: fail instead


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    world = World(default_scenario(today=TODAY, history_days=5))
    world.now = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
    with SandboxServer(world) as server:
        yield server


def _environment(url: str, sandbox: SandboxServer, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "ADSIGNAL_", "DAGSTER_"))}
    env.pop("ADSIGNAL_SLACK_WEBHOOK_URL", None)
    (tmp / "imports").mkdir(exist_ok=True)
    return env | {
        "DATABASE_URL": url,
        "ADSIGNAL_SANDBOX_URL": sandbox.url,
        "ADSIGNAL_DATA_DIR": str(tmp / "data"),
        "ADSIGNAL_IMPORT_DIR": str(tmp / "imports"),
        "DAGSTER_HOME": str(tmp / "dagster"),
    }


def _materialize(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        # The syncs only: the dead run is killed while syncing; the marts after them guard nothing here.
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "materialize",
            "--from",
            str(FIRST),
            "--to",
            str(LAST),
            "--select",
            "key:raw/*",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_a_running_sync(url: str, child: subprocess.Popen, timeout: float = 300) -> str:
    """The id of a sync that stays ``running`` (its requests stall in the sandbox)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            assert child.poll() is None, child.communicate()[0][-3000:]
            row = conn.execute(
                "select sync_id from raw.sync_runs where status = 'running' limit 1"
            ).fetchone()
            if row:
                time.sleep(0.3)
                still = conn.execute(
                    "select status from raw.sync_runs where sync_id = %s", (row[0],)
                ).fetchone()[0]
                if still == "running":
                    return str(row[0])
            time.sleep(0.1)
    raise AssertionError("no sync started")


def test_a_killed_materialize_is_failed_and_the_next_run_completes_with_clean_data(
    sandbox: SandboxServer, database_factory: Callable[[str], str], tmp_path: Path
) -> None:
    url = database_factory("dead_runs")
    env = _environment(url, sandbox, tmp_path)
    # Every request stalls 20 s (under the connectors' 60 s timeout): the first sync stays running.
    for platform in ROUTERS:
        sandbox.faults.add(platform, "timeout", times=-1, seconds=20)
    child = _materialize(env)
    try:
        sync_id = _wait_for_a_running_sync(url, child)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        sandbox.faults.clear()
        if child.poll() is None:
            child.kill()
            child.wait()

    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        (killed,) = instance.get_runs()
        assert killed.status == dg.DagsterRunStatus.STARTED
        assert killed.tags[PID_TAG] == str(child.pid)
        # The bug this guards against: the dead run still holds its platform's pool slot.
        assert killed.run_id in instance.event_log_storage.get_concurrency_run_ids()

    again = _materialize(env)
    try:
        output, _ = again.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        again.kill()
        output = again.communicate()[0]
        raise AssertionError(f"the run after the kill did not finish: {output[-3000:]}") from None
    assert again.returncode == 0, output[-5000:]
    assert f"Run {killed.run_id} died with its process" in output

    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        statuses = {run.run_id: run.status for run in instance.get_runs()}
        assert statuses.pop(killed.run_id) == dg.DagsterRunStatus.FAILURE
        assert list(statuses.values()) == [dg.DagsterRunStatus.SUCCESS]
        assert killed.run_id not in instance.event_log_storage.get_concurrency_run_ids()

    with psycopg.connect(url, autocommit=True) as conn:
        status, error = conn.execute(
            "select status, error from raw.sync_runs where sync_id = %s", (sync_id,)
        ).fetchone()
        assert status == "failed" and "died" in error
        assert conn.execute("select count(*) from raw.sync_runs where status = 'running'").fetchone()[0] == 0
        killed_run = raw_snapshot(conn)

    clean_url = database_factory("dead_runs_clean")
    for platform, connector in CONNECTORS.items():
        streams = [s for s in connector.streams.values() if not s.is_hourly]
        connections = [sandbox_connection(platform, sandbox.url)]
        sync_connections(clean_url, connections, [s.name for s in streams if not s.window_column])
        windowed = [s.name for s in streams if s.window_column]
        sync_connections(clean_url, connections, windowed, since=FIRST, until=LAST)
    with psycopg.connect(clean_url, autocommit=True) as conn:
        assert killed_run == raw_snapshot(conn)


def test_a_run_owner_is_gone_once_its_process_died_even_if_its_pid_is_reused() -> None:
    mine = owner_tags()
    assert not owner_is_gone(mine)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    theirs = {**mine, PID_TAG: str(child.pid)}
    theirs[PROCESS_STARTED_TAG] = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    assert not owner_is_gone(theirs)
    child.send_signal(signal.SIGKILL)
    time.sleep(0.2)
    assert owner_is_gone(theirs)  # killed, not yet reaped (a zombie): gone
    child.wait()
    assert owner_is_gone(theirs)
    # Another process now holding the pid (here: this one) started at another time: still gone.
    assert owner_is_gone({**mine, PROCESS_STARTED_TAG: "1"})
    assert not owner_is_gone({**theirs, "adsignal/host": "another-host"})
