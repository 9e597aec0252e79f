"""The events folder (ADSIGNAL_EVENTS_DIR): its sensor and the `events_import` job, on a real PostgreSQL
and real Dagster runs. New files import once, a changed file adds only what is new, bad lines are
quarantined with file, line and reason, an unreadable gzip fails alone, and a file still being written
waits. The clock is pinned (``first_party.utc_now``) and files' mtimes are set against it."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from pipeline import config
from pipeline.defs import first_party
from pipeline.defs.first_party import (
    cdp_events,
    cdp_profiles,
    cdp_segments,
    events_folder_sensor,
    events_import_job,
)
from pipeline.defs.resources import WarehouseResource
from pipeline.event_imports import EventFileChanged, import_events_file
from pipeline.imports import record_rebuild

NOW = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
SETTLED = NOW - timedelta(hours=1)
EMAIL = "Jane.Doe@Example.com"


@pytest.fixture(scope="module")
def url(database_factory: Callable[[str], str]) -> str:
    return database_factory("events_folder")


@pytest.fixture(autouse=True)
def empty_tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("truncate raw.cdp_events, raw.quarantine, raw.file_imports")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The events folder (not created yet), with the clock pinned at NOW."""
    events = tmp_path / "events"
    monkeypatch.setenv("ADSIGNAL_EVENTS_DIR", str(events))
    monkeypatch.setattr(first_party, "utc_now", lambda: NOW)
    config.settings.cache_clear()
    yield events
    config.settings.cache_clear()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def event(message_id: str, **extra: Any) -> dict:
    return {
        "type": "track",
        "messageId": message_id,
        "anonymousId": f"anon-{message_id}",
        "event": "Product Viewed",
        "properties": {"sku": "A-1"},
        "timestamp": "2026-05-01T10:00:00Z",
        "receivedAt": "2026-05-01T10:00:01Z",
        **extra,
    }


def write(path: Path, lines: list[str], *, modified: datetime = SETTLED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path


def events_of(*message_ids: str) -> list[str]:
    return [json.dumps(event(m)) for m in message_ids]


def import_folder(url: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """One run of the cdp_events asset alone (the folder import)."""
    return dg.materialize(
        [cdp_events],
        instance=instance,
        resources={"warehouse": WarehouseResource(url=url)},
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    [materialization] = [
        e.materialization for e in result.get_asset_materialization_events() if e.asset_key == cdp_events.key
    ]
    return {key: value.value for key, value in materialization.metadata.items()}


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_new_files_import_with_profiles_and_a_rescan_imports_nothing(
    url: str, folder: Path, instance: dg.DagsterInstance
) -> None:
    write(folder / "a.jsonl", events_of("a1", "a2"))
    write(folder / "b.jsonl.gz", events_of("b1"))
    write(folder / "c.ndjson", events_of("c1", "a1"))  # a1 is in a.jsonl already
    write(folder / "notes.txt", ["not an export"])
    job = dg.Definitions(
        assets=[cdp_events, cdp_profiles, cdp_segments],
        jobs=[events_import_job],
        resources={"warehouse": WarehouseResource(url=url)},
    ).resolve_job_def("events_import")

    result = job.execute_in_process(instance=instance)

    assert result.success
    assert metadata(result)["files_imported"] == {
        "a.jsonl": {"lines": 2, "loaded": 2, "repeated": 0, "quarantined": 0},
        "b.jsonl.gz": {"lines": 1, "loaded": 1, "repeated": 0, "quarantined": 0},
        "c.ndjson": {"lines": 2, "loaded": 1, "repeated": 1, "quarantined": 0},
    }
    assert (metadata(result)["events_loaded"], metadata(result)["events_repeated"]) == (4, 1)
    assert rows(url, "select count(*) from raw.cdp_events") == [(4,)]
    # the same run resolved the new events: one profile per anonymous id
    assert rows(url, "select count(*) from app.cdp_profiles where merged_into is null") == [(4,)]
    assert rows(url, "select file_name, status from raw.file_imports order by 1") == [
        ("a.jsonl", "loaded"),
        ("b.jsonl.gz", "loaded"),
        ("c.ndjson", "loaded"),
    ]

    # the daily run imports this folder beside the CSV folder; recording its CSV rebuild by run id
    # must leave the events files alone (else a re-scan would no longer see them as imported)
    run_id = rows(url, "select distinct run_id from raw.file_imports")[0][0]
    assert record_rebuild(url, import_run_id=run_id, rebuild_run_id="rebuild") == 0

    again = import_folder(url, instance)

    assert again.success
    assert metadata(again)["files_imported"] == {}
    assert sorted(metadata(again)["files_skipped"]) == ["a.jsonl", "b.jsonl.gz", "c.ndjson"]
    assert rows(url, "select count(*) from raw.file_imports") == [(3,)]


def test_a_changed_file_imports_again_without_doubles(
    url: str, folder: Path, instance: dg.DagsterInstance
) -> None:
    path = write(folder / "export.jsonl", events_of("m1", "m2"))
    assert import_folder(url, instance).success

    write(path, events_of("m1", "m2", "m3"), modified=SETTLED + timedelta(minutes=1))
    result = import_folder(url, instance)

    assert result.success
    assert metadata(result)["files_imported"] == {
        "export.jsonl": {"lines": 3, "loaded": 1, "repeated": 2, "quarantined": 0}
    }
    assert rows(url, "select message_id from raw.cdp_events order by 1") == [("m1",), ("m2",), ("m3",)]


def test_bad_lines_are_quarantined_with_file_line_and_reason_and_no_pii_in_metadata(
    url: str, folder: Path, instance: dg.DagsterInstance
) -> None:
    write(
        folder / "mixed.jsonl",
        [
            json.dumps(event("q1", properties={"email": EMAIL})),
            '{"type": "track", "messageId": ',  # cut off
            json.dumps(event("q2", anonymousId=None, traits={"email": EMAIL})),
        ],
    )

    result = import_folder(url, instance)

    assert result.success
    assert metadata(result)["files_imported"] == {
        "mixed.jsonl": {"lines": 3, "loaded": 1, "repeated": 0, "quarantined": 2}
    }
    quarantined = rows(
        url,
        "select source, line_number, reason from raw.quarantine where platform = 'events' order by 2",
    )
    assert [(source, line) for source, line, _ in quarantined] == [
        ("file:mixed.jsonl", 2),
        ("file:mixed.jsonl", 3),
    ]
    assert "not JSON" in quarantined[0][2] and "neither anonymousId nor userId" in quarantined[1][2]
    logged = " ".join(e.message or "" for e in result.all_events)
    for text in (str(metadata(result)), logged):
        assert "jane" not in text.lower() and "Product Viewed" not in text


def test_an_unreadable_gzip_fails_clearly_and_the_file_beside_it_loads(
    url: str, folder: Path, instance: dg.DagsterInstance
) -> None:
    write(folder / "good.jsonl", events_of("g1"))
    broken = folder / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress("\n".join(events_of("x1", "x2", "x3")).encode())[:-12])  # cut off
    os.utime(broken, (SETTLED.timestamp(), SETTLED.timestamp()))

    result = import_folder(url, instance)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "broken.jsonl.gz: not a readable gzip file" in message and "nothing imported from it" in message
    assert metadata(result)["files_rejected"].keys() == {"broken.jsonl.gz"}
    assert rows(url, "select message_id from raw.cdp_events") == [("g1",)]  # nothing of the broken file
    assert rows(url, "select file_name, status from raw.file_imports order by 1") == [
        ("broken.jsonl.gz", "rejected"),
        ("good.jsonl", "loaded"),
    ]
    # Its content is not retried: the next scan succeeds and says why it skipped it.
    again = import_folder(url, instance)
    assert again.success
    assert "was rejected" in metadata(again)["files_skipped"]["broken.jsonl.gz"]


def test_a_file_still_being_written_waits_and_one_changed_while_read_rolls_back(
    url: str, folder: Path, instance: dg.DagsterInstance
) -> None:
    write(folder / "growing.jsonl", events_of("w1"), modified=NOW - timedelta(seconds=5))

    result = import_folder(url, instance)

    assert result.success
    assert metadata(result)["files_waiting"] == ["growing.jsonl"]
    assert rows(url, "select count(*) from raw.cdp_events") == [(0,)]

    # The scan saw one version; by the time it is read the writer has appended: nothing is kept.
    path = write(folder / "appended.jsonl", events_of("w2"))
    seen = path.stat()
    write(path, events_of("w2", "w3"), modified=SETTLED + timedelta(seconds=1))
    with pytest.raises(EventFileChanged, match=r"appended\.jsonl: changed while it was read"):
        import_events_file(url, path, expect_unchanged=seen)
    assert rows(url, "select count(*) from raw.cdp_events") == [(0,)]


def test_the_sensor_skips_a_missing_or_unchanged_folder_and_fires_on_a_new_file(
    folder: Path, instance: dg.DagsterInstance
) -> None:
    def tick(cursor: str | None) -> dg.SensorExecutionData:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        return events_folder_sensor.evaluate_tick(context)

    missing = tick(None)
    assert not missing.run_requests and missing.skip_message == f"{folder} does not exist"

    folder.mkdir()
    empty = tick(None)
    assert not empty.run_requests and empty.skip_message.startswith("no event files")

    write(folder / "first.jsonl", events_of("s1"))
    fired = tick(empty.cursor)
    assert len(fired.run_requests) == 1 and fired.cursor != empty.cursor

    unchanged = tick(fired.cursor)
    assert not unchanged.run_requests and unchanged.skip_message == "no new or changed files"

    path = write(folder / "second.jsonl", events_of("s2"), modified=NOW - timedelta(seconds=5))
    writing = tick(fired.cursor)
    assert not writing.run_requests
    assert writing.skip_message == "no new or changed files (1 still being written: second.jsonl)"

    os.utime(path, (SETTLED.timestamp(), SETTLED.timestamp()))
    settled = tick(fired.cursor)
    assert len(settled.run_requests) == 1 and settled.cursor not in (None, fired.cursor)
