"""First-party events in: JSON Lines imports and the Segment-compatible collector, over real HTTP, with
Segment's and RudderStack's own Python clients, and a collector killed mid-load."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from pipeline.collector import create_app
from pipeline.event_imports import import_events_file
from pipeline.sandbox.server import BackgroundServer
from pipeline.warehouse.events_store import create_write_key, revoke_write_key

EMAIL = "Jane.Doe@Example.com"


@pytest.fixture(scope="module")
def events_db(database_factory: Callable[[str], str]) -> str:
    return database_factory("events")


@pytest.fixture(scope="module")
def write_key(events_db: str) -> str:
    with psycopg.connect(events_db) as conn:
        return create_write_key(conn, "default", "tests", actor="test")[1]


@pytest.fixture(scope="module")
def collector(events_db: str) -> Iterator[str]:
    with BackgroundServer(create_app(events_db)) as server:
        yield server.url


def event(message_id: str, **extra: object) -> dict:
    return {
        "type": "track",
        "messageId": message_id,
        "anonymousId": "anon-" + message_id[:8],
        "event": "Product Viewed",
        "properties": {"sku": "A-1"},
        "timestamp": "2026-05-01T10:00:00Z",
        **extra,
    }


def rows(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_a_json_lines_file_imports_once_with_bad_lines_quarantined(events_db: str, tmp_path: Path) -> None:
    prefix = uuid.uuid4().hex[:8]
    lines = [
        json.dumps(event(f"{prefix}-1", properties={"email": EMAIL})),
        json.dumps(event(f"{prefix}-2", type="identify", traits={"phone": "+44 20 7946 0018"})),
        '{"type": "track", "messageId": ',  # cut off
        json.dumps(event(f"{prefix}-3", anonymousId=None)),
        json.dumps(event(f"{prefix}-4")),
        json.dumps(event(f"{prefix}-1")),  # the same messageId again
    ]
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))

    first = import_events_file(events_db, path)
    assert (first.lines, first.loaded, first.repeated, first.quarantined) == (6, 3, 1, 2)
    again = import_events_file(events_db, path)
    assert (again.loaded, again.repeated, again.quarantined) == (0, 4, 2)

    quarantined = rows(
        events_db,
        "select line_number, reason from raw.quarantine where platform = 'events' and source = %s order by 1",
        ("file:export.jsonl.gz",),
    )
    assert [line for line, _ in quarantined] == [3, 4]
    assert "not JSON" in quarantined[0][1] and "neither anonymousId nor userId" in quarantined[1][1]
    leaked = rows(
        events_db,
        "select count(*) from raw.cdp_events where (properties::text || traits::text || context::text) ilike %s",
        ("%jane%",),
    )
    assert leaked == [(0,)]
    hashed = rows(
        events_db,
        "select email_sha256 is not null from raw.cdp_events where message_id = %s",
        (f"{prefix}-1",),
    )
    assert hashed == [(True,)]


def test_the_collector_refuses_what_it_must(collector: str, write_key: str, events_db: str) -> None:
    batch = {"batch": [event(uuid.uuid4().hex)]}
    assert httpx.post(f"{collector}/v1/batch", json=batch).status_code == 401
    assert httpx.post(f"{collector}/v1/batch", json=batch, auth=("ask_wrong", "")).status_code == 401
    bad_json = httpx.post(f"{collector}/v1/batch", content=b"{not json", auth=(write_key, ""))
    assert bad_json.status_code == 400 and "not JSON" in bad_json.json()["error"]
    huge = {"batch": [event(uuid.uuid4().hex, properties={"blob": "x" * 30_000}) for _ in range(20)]}
    assert httpx.post(f"{collector}/v1/batch", json=huge, auth=(write_key, "")).status_code == 400
    assert httpx.post(f"{collector}/v1/purchase", json=event("x"), auth=(write_key, "")).status_code == 404
    with psycopg.connect(events_db) as conn:
        revoked_id, revoked = create_write_key(conn, "default", "revoked", actor="test")
        revoke_write_key(conn, revoked_id, actor="test")
    assert httpx.post(f"{collector}/v1/batch", json=batch, auth=(revoked, "")).status_code == 401
    assert rows(
        events_db,
        "select count(*) from raw.cdp_events where message_id = %s",
        (batch["batch"][0]["messageId"],),
    ) == [(0,)]


def test_a_batch_stores_good_events_and_quarantines_the_rest(
    collector: str, write_key: str, events_db: str
) -> None:
    ids = [uuid.uuid4().hex for _ in range(3)]
    body = {
        "batch": [
            event(ids[0]),
            event(ids[1]),
            event(ids[0]),
            event(ids[2], timestamp="soon"),
            {"type": "track"},
        ],
        "context": {"library": {"name": "curl"}},
    }
    answer = httpx.post(f"{collector}/v1/batch", json=body, auth=(write_key, ""))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "received": 5, "stored": 2, "repeated": 1, "quarantined": 2}
    stored = rows(
        events_db,
        "select context -> 'library' ->> 'name' from raw.cdp_events where message_id = any(%s)",
        (ids,),
    )
    assert stored == [("curl",), ("curl",)]
    single = httpx.post(f"{collector}/v1/identify", json={"userId": "u-1", "messageId": ids[2], "traits": {"email": EMAIL}}, auth=(write_key, ""))  # fmt: skip
    assert single.status_code == 200 and single.json()["stored"] == 1
    assert rows(events_db, "select type, user_id from raw.cdp_events where message_id = %s", (ids[2],)) == [
        ("identify", "u-1")
    ]


def test_a_burst_of_concurrent_batches_is_stored_exactly(
    collector: str, write_key: str, events_db: str
) -> None:
    run = uuid.uuid4().hex[:8]
    batches = [{"batch": [event(f"{run}-{b}-{i}") for i in range(100)]} for b in range(40)]
    with httpx.Client(auth=(write_key, ""), timeout=30) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda body: client.post(f"{collector}/v1/batch", json=body).status_code, batches)
        )
    assert statuses == [200] * 40
    assert rows(events_db, "select count(*) from raw.cdp_events where message_id like %s", (f"{run}-%",)) == [
        (4000,)
    ]


def test_segment_and_rudderstack_clients_work_unchanged(
    collector: str, write_key: str, events_db: str
) -> None:
    from rudderstack.analytics import Client as RudderClient
    from segment.analytics import Client as SegmentClient

    user = uuid.uuid4().hex
    segment = SegmentClient(write_key=write_key, host=collector, sync_mode=True, max_retries=1)
    segment.identify(f"seg-{user}", {"email": EMAIL, "plan": "pro"})
    segment.track(f"seg-{user}", "Order Completed", {"revenue": 12.5})
    segment.page(f"seg-{user}", name="Pricing")
    rudder = RudderClient(write_key=write_key, host=collector, sync_mode=True, max_retries=1, gzip=True)
    rudder.track(f"rud-{user}", "Lead Created", {"score": 0.7})
    rudder.identify(f"rud-{user}", {"phone": "+1 415 555 0100"})
    got = rows(
        events_db,
        "select user_id, type, coalesce(event, ''), context -> 'library' ->> 'name' from raw.cdp_events"
        " where user_id in (%s, %s) order by 1, 2",
        (f"rud-{user}", f"seg-{user}"),
    )
    assert [(u[:3], t, e) for u, t, e, _ in got] == [
        ("rud", "identify", ""),
        ("rud", "track", "Lead Created"),
        ("seg", "identify", ""),
        ("seg", "page", ""),
        ("seg", "track", "Order Completed"),
    ]
    assert all(library for *_, library in got)  # each SDK names itself in context.library
    assert rows(events_db, "select count(*) from raw.cdp_events where user_id = %s and email_sha256 is not null", (f"seg-{user}",)) == [(1,)]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(url: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "collect", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the collector did not come up")


def test_a_collector_killed_mid_load_loses_and_doubles_nothing(events_db: str, write_key: str) -> None:
    """SIGKILL while batches are in flight; the sender retries what was not acknowledged, as SDKs do."""
    port = _free_port()
    run = uuid.uuid4().hex[:8]
    batches = [{"batch": [event(f"{run}-{b}-{i}") for i in range(100)]} for b in range(60)]
    acknowledged: list[int] = []
    server = _start(events_db, port)
    killed = threading.Event()

    def send() -> None:
        with httpx.Client(auth=(write_key, ""), timeout=10) as client:
            for number, body in enumerate(batches):
                while True:
                    try:
                        if client.post(f"http://127.0.0.1:{port}/v1/batch", json=body).status_code == 200:
                            acknowledged.append(number)
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.1)  # down or restarting: retry the same batch
                if number == 20:
                    killed.set()

    sender = threading.Thread(target=send)
    sender.start()
    assert killed.wait(120)
    server.send_signal(signal.SIGKILL)
    server.wait()
    server = _start(events_db, port)
    try:
        sender.join(180)
        assert not sender.is_alive()
    finally:
        server.terminate()
        server.wait(30)
    assert acknowledged == list(range(60))
    assert rows(
        events_db,
        "select count(*), count(distinct message_id) from raw.cdp_events where message_id like %s",
        (f"{run}-%",),
    ) == [(6000, 6000)]
