"""Dead runs: a run whose process was killed (``kill -9``) must not hold its pools forever.

``adsignal materialize`` (and the demo, and imports' rebuilds) execute their Dagster run in their
own process. Killed, that process leaves the run ``STARTED`` and its pool slots claimed (one sync at
a time per platform API, one dbt run at a time), so the next run of that platform waits for them
indefinitely. Each such run is tagged with its process (``OWNER_TAGS``: host, pid, process start
time); before the next one starts, ``fail_dead_runs`` marks every run of this host whose process is
gone ``FAILURE`` and frees its slots. Runs launched by the daemon (``make ui``, the deployment) are
left to Dagster's run monitoring (``run_monitoring`` in the instance's ``dagster.yaml``).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import FINISHED_STATUSES

HOST_TAG = "adsignal/host"
PID_TAG = "adsignal/pid"
PROCESS_STARTED_TAG = "adsignal/process_started"
OWNER_TAGS = (HOST_TAG, PID_TAG, PROCESS_STARTED_TAG)
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
              dg.DagsterRunStatus.CANCELING]  # fmt: skip


def _process_started(pid: int) -> str:
    """The process's start time (clock ticks since boot, from /proc): a pid is reused after its process
    dies, the start time tells a new process from the run's. "" where /proc is not there (macOS)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            raise ProcessLookupError(pid) from None
        os.kill(pid, 0)  # raises ProcessLookupError if there is no such process
        return ""
    fields = stat.rsplit(")", 1)[1].split()  # after the command name: state is field 3, start time 22
    if fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        raise ProcessLookupError(pid)
    return fields[19]


def owner_tags() -> dict[str, str]:
    """Tags naming this process as a run's owner."""
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), PROCESS_STARTED_TAG: _process_started(pid)}


def owner_is_gone(tags: dict[str, str]) -> bool:
    """True if the tags name a process of this host that no longer runs (False: alive, elsewhere or unknown)."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False
    try:
        return _process_started(int(tags[PID_TAG])) != tags.get(PROCESS_STARTED_TAG, "")
    except ProcessLookupError:
        return True
    except OSError:  # not ours to inspect: assume alive
        return False


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the unfinished runs whose owning process died and free every slot a finished run holds.

    Returns the ids of the runs failed. Safe to call while other processes' runs are live: those are
    left alone.
    """
    failed: list[str] = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if owner_is_gone(dict(run.tags)):
            instance.report_run_failed(
                run,
                f"The process running this run (pid {run.tags.get(PID_TAG)} on {run.tags.get(HOST_TAG)})"
                " died before it ended (killed?); its pool slots were freed.",
            )
            failed.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = list(storage.get_concurrency_run_ids())
        if holders:
            finished = instance.get_run_records(
                filters=dg.RunsFilter(run_ids=holders, statuses=list(FINISHED_STATUSES))
            )
            for record in finished:
                storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return failed


__all__ = ["OWNER_TAGS", "fail_dead_runs", "owner_is_gone", "owner_tags"]
