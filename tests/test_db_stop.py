"""`adsignal db stop`: the embedded server keeps running after each command; this stops it.

A scratch embedded server of its own (its own data directory and socket), never the session's
shared one: stopping that would stop every other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from pipeline import config
from pipeline.cli import main
from pipeline.warehouse import db


@pytest.fixture
def scratch_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ADSIGNAL_DATA_DIR", str(tmp_path))
    tmp_path.chmod(0o755)  # as root, the server runs as the user pgserver, which must reach it
    config.settings.cache_clear()
    yield tmp_path
    db.stop_embedded(tmp_path / "pg")  # whatever the test left
    config.settings.cache_clear()


def test_stop_stops_the_embedded_server_and_says_when_it_was_not_running(scratch_data_dir: Path) -> None:
    admin_url = db._start_embedded(scratch_data_dir / "pg")
    with psycopg.connect(admin_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)

    stopped = CliRunner().invoke(main, ["db", "stop"])
    assert stopped.exit_code == 0 and "stopped the embedded PostgreSQL" in stopped.output, stopped.output
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(admin_url, connect_timeout=5)

    again = CliRunner().invoke(main, ["db", "stop"])
    assert again.exit_code == 0 and "is not running" in again.output


def test_stop_refuses_a_server_given_by_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.example.com/warehouse")
    config.settings.cache_clear()
    try:
        refused = CliRunner().invoke(main, ["db", "stop"])
    finally:
        config.settings.cache_clear()
    assert refused.exit_code == 1 and "not adsignal's to stop" in refused.output
