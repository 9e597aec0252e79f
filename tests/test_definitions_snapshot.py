"""A snapshot of the Dagster definitions: asset keys, checks, jobs, schedules and sensors.

A change to what the code location offers (a renamed asset, a lost check, a new sensor) shows up as a
diff of ``tests/snapshots/definitions.txt`` in review. After an intended change, regenerate it:
``ADSIGNAL_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_definitions_snapshot.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.txt"


def describe_definitions() -> str:
    graph = defs.resolve_asset_graph()
    lines = [f"asset {key.to_user_string()}" for key in sorted(graph.get_all_asset_keys())]
    lines += [
        f"check {key.asset_key.to_user_string()}:{key.name}"
        for key in sorted(graph.asset_check_keys, key=str)
    ]
    repository = defs.get_repository_def()
    lines += [f"job {job.name}" for job in sorted(repository.get_all_jobs(), key=lambda j: j.name)]
    lines += [
        f"schedule {s.name} {s.cron_schedule} -> {s.job_name}"
        for s in sorted(repository.schedule_defs, key=lambda s: s.name)
    ]
    lines += [f"sensor {s.name}" for s in sorted(repository.sensor_defs, key=lambda s: s.name)]
    return "\n".join(lines) + "\n"


def test_the_definitions_match_their_snapshot() -> None:
    current = describe_definitions()
    if os.environ.get("ADSIGNAL_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), (
        "the Dagster definitions changed; if intended, regenerate tests/snapshots/definitions.txt "
        "(ADSIGNAL_UPDATE_SNAPSHOTS=1)"
    )
