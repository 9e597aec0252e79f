"""Sharp edges of the command line: bad ranges fail at once saying why; the demo never talks to a
program that merely happens to answer on the sandbox's port."""

from __future__ import annotations

import importlib.metadata
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import main, sandbox_for_demo
from pipeline.defs.partitions import check_day_range, intraday_partitions
from pipeline.sandbox.server import SANDBOX_SERVICE, SandboxServer


@pytest.mark.parametrize(
    ("first", "last", "why"),
    [
        ("2026-12-05", "2026-12-01", "the range is reversed: 2026-12-05 is after 2026-12-01"),
        ("2020-01-01", "2020-01-03", "2020-01-01 is before the first partition"),
        ("2026-11-01", "2999-01-01", "2999-01-01 is not over yet"),
    ],
)
def test_materialize_refuses_a_range_it_cannot_run_at_once(first: str, last: str, why: str) -> None:
    result = CliRunner().invoke(main, ["materialize", "--from", first, "--to", last])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    [line] = [line for line in result.output.splitlines() if line]  # one line
    assert line.startswith(f"Error: --from {first} --to {last}: {why}")


def test_days_not_over_yet_depend_on_the_clock_given() -> None:
    now = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    check_day_range(date(2026, 12, 1), date(2026, 12, 5), now=now)
    with pytest.raises(
        ValueError, match="2026-12-06 is not over yet: the latest day that can be run is 2026-12-05"
    ):
        check_day_range(date(2026, 12, 1), date(2026, 12, 6), now=now)
    check_day_range(date(2026, 12, 1), date(2026, 12, 6), intraday_partitions, now=now)  # today runs hourly


def test_demo_days_must_be_positive() -> None:
    result = CliRunner().invoke(main, ["demo", "--days", "0"])
    assert result.exit_code == 2 and "--days" in result.output


# --- the demo's sandbox ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def impostor() -> Iterator[str]:
    """Another program on a port, answering the health URL with a plausible 200."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_demo_starts_its_own_sandbox_when_another_program_answers(impostor: str) -> None:
    server, url, note = sandbox_for_demo(impostor)
    try:
        assert server is not None and url == server.url != impostor
        assert note == (
            f"{impostor} is answered by another program (HTTP 200, not an adsignal sandbox), not used:"
            f" started the sandbox at {url} instead."
        )
        assert httpx.get(f"{url}/_sandbox/health").json()["service"] == SANDBOX_SERVICE
    finally:
        if server:
            server.stop()


def test_the_demo_uses_a_running_adsignal_sandbox_and_says_so() -> None:
    with SandboxServer() as running:
        server, url, note = sandbox_for_demo(running.url)
        assert (server, url, note) == (
            None,
            running.url,
            f"Using the adsignal sandbox already running at {url}.",
        )

        httpx.post(f"{running.url}/_sandbox/clock", json={"now": "2026-11-20T12:00:00Z"})
        server, url, note = sandbox_for_demo(running.url)
        try:
            assert server is not None and url != running.url
            assert "an adsignal sandbox with its clock pinned to 2026-11-20" in note
        finally:
            if server:
                server.stop()


def test_the_demo_serves_on_the_configured_port_when_it_is_free() -> None:
    wanted = f"http://127.0.0.1:{free_port()}"
    server, url, note = sandbox_for_demo(wanted)
    try:
        assert server is not None and url == wanted and note == f"Started the sandbox at {wanted}."
    finally:
        if server:
            server.stop()


def test_materialize_selects_assets_of_the_daily_job_by_dagster_selection() -> None:
    from pipeline.cli import _selected_asset_keys
    from pipeline.commands._common import InputError

    syncs = _selected_asset_keys("key:raw/*")
    assert syncs and all(key.path[0] == "raw" for key in syncs)
    assert ["raw", "meta_ads_insights_daily"] in [key.path for key in syncs]
    for selection, why in (("key:nothing/*", "matches no asset"), ("group:((", "Invalid selection")):
        with pytest.raises(InputError, match=why):
            _selected_asset_keys(selection)


def test_version_is_the_installed_distributions() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"adsignal {importlib.metadata.version('adsignal')}\n"


def test_the_generated_dagster_instance_shows_no_community_dialog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    from pipeline.cli import dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    home = dagster_home()
    assert yaml.safe_load((home / "dagster.yaml").read_text())["nux"] == {"enabled": False}
    # Dagster validates the file against its instance schema on load: a wrong key fails here.
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.nux_enabled is False
        assert instance.telemetry_enabled is False
