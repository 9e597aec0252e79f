"""`adsignal alerts list|ack|resolve` through click against a private database (DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from pipeline import config
from pipeline.cli import main
from pipeline.warehouse import db as warehouse_db

ALERTS = [
    # type, severity, status, platform, entity id, name, title
    (
        "ROAS_DROP",
        "HIGH",
        "open",
        "meta",
        "C1",
        "Spring sale",
        "Spring sale: ROAS down 62% vs its usual level",
    ),
    ("ZERO_CONVERSIONS", "CRITICAL", "open", "meta", "C2", "Retargeting", "Retargeting: no conversions"),
    ("CTR_DROP", "LOW", "open", "tiktok", "T1", "Video views", "Video views: CTR down 40%"),
    ("SPEND_PACING", "MEDIUM", "suppressed", "meta", "C3", "Brand", "Brand: over-delivering, 180% of budget"),
    ("CPA_SPIKE", "MEDIUM", "resolved", "google_ads", "G1", "Search", "Search: CPA up 70%"),
]


@pytest.fixture(scope="module")
def cli_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("alerts_cli")


@pytest.fixture
def ids(cli_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    monkeypatch.setenv("DATABASE_URL", cli_url)
    config.settings.cache_clear()
    warehouse_db.database_url.cache_clear()
    with psycopg.connect(cli_url, autocommit=True) as conn:
        conn.execute("delete from app.alerts")
        out = {}
        for alert_type, severity, status, platform, entity, name, title in ALERTS:
            out[entity] = conn.execute(
                "insert into app.alerts (alert_type, severity, status, platform, account_id, entity_level,"
                " entity_id, entity_name, title, message, evidence, suppressed_reason, detection_count)"
                " values (%s, %s, %s, %s, 'A1', 'campaign', %s, %s, %s, 'message', %s, %s, 3) returning alert_id",
                (alert_type, severity, status, platform, entity, name, title, Jsonb({}),
                 "held: signal health degraded" if status == "suppressed" else None),
            ).fetchone()[0]  # fmt: skip
    yield out
    config.settings.cache_clear()
    warehouse_db.database_url.cache_clear()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["alerts", *args])
    return result.exit_code, result.output


def status_of(url: str, alert_id: int) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select status, acknowledged_by, acknowledged_at is not null, acknowledged_note, resolved_by,"
            " resolved_at is not null, resolution from app.alerts where alert_id = %s",
            (alert_id,),
        ).fetchone()


def test_list_shows_live_alerts_most_severe_first(ids: dict[str, int]) -> None:
    code, out = run("list")
    assert code == 0, out
    for column in (
        "id",
        "severity",
        "type",
        "entity",
        "title",
        "status",
        "first detected",
        "last detected",
        "count",
    ):
        assert column in out
    assert "ZERO_CONVERSIONS" in out and "ROAS_DROP" in out and "CTR_DROP" in out
    assert "SPEND_PACING" not in out and "CPA_SPIKE" not in out  # held and resolved are not live
    assert out.index("ZERO_CONVERSIONS") < out.index("ROAS_DROP") < out.index("CTR_DROP")
    assert "meta campaign Spring sale (C1)" in out


def test_list_filters(ids: dict[str, int]) -> None:
    _, out = run("list", "--platform", "tiktok")
    assert "CTR_DROP" in out and "ROAS_DROP" not in out
    _, out = run("list", "--severity", "critical", "--severity", "HIGH")
    assert "ZERO_CONVERSIONS" in out and "ROAS_DROP" in out and "CTR_DROP" not in out
    _, out = run("list", "--status", "suppressed")
    assert "SPEND_PACING" in out and "ROAS_DROP" not in out
    _, out = run("list", "--status", "all")
    assert all(alert_type in out for alert_type, *_ in ALERTS)
    code, out = run("list", "--status", "closed")
    assert code == 2 and "closed" in out
    _, out = run("list", "--platform", "snapchat")
    assert "No alerts with status open, acknowledged match." in out


def test_ack_then_resolve_records_who_and_when(ids: dict[str, int], cli_url: str) -> None:
    alert_id = ids["C1"]
    code, out = run("ack", str(alert_id), "--by", "ana", "--note", "looking at the landing page")
    assert code == 0, out
    assert f"alert {alert_id} acknowledged by ana" in out
    assert status_of(cli_url, alert_id)[:4] == ("acknowledged", "ana", True, "looking at the landing page")
    _, out = run("list")
    assert "acknowledged by ana" in out

    code, out = run("resolve", str(alert_id), "--by", "bo", "--note", "landing page fixed")
    assert code == 0, out
    status, *_, resolved_by, resolved_at, resolution = status_of(cli_url, alert_id)
    assert (status, resolved_by, resolved_at) == ("resolved", "bo", True)
    assert resolution["note"] == "landing page fixed" and resolution["previous_status"] == "acknowledged"
    with psycopg.connect(cli_url) as conn:
        trail = conn.execute(
            "select actor, event from app.audit_logs where object_type = 'alert' and object_id = %s"
            " order by audit_id",
            (str(alert_id),),
        ).fetchall()
    assert trail == [("ana", "alert.acknowledged"), ("bo", "alert.resolved")]


def test_by_defaults_to_the_os_user(
    ids: dict[str, int], cli_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "carol")
    monkeypatch.setenv("LOGNAME", "carol")
    code, out = run("ack", str(ids["C2"]))
    assert code == 0, out
    assert status_of(cli_url, ids["C2"])[1] == "carol"


def test_unknown_ids_and_invalid_transitions_fail_clearly(ids: dict[str, int], cli_url: str) -> None:
    code, out = run("ack", "999999")
    assert code == 1 and "Error: no alert with id 999999" in out
    code, out = run("resolve", "999999")
    assert code == 1 and "no alert with id 999999" in out
    code, out = run("ack", str(ids["G1"]))
    assert code == 1 and f"alert {ids['G1']} is resolved" in out and "only live alerts" in out
    code, out = run("resolve", str(ids["G1"]), "--by", "bo")
    assert code == 1 and "already resolved" in out
    assert status_of(cli_url, ids["G1"])[0] == "resolved"
    code, out = run("ack", "not-a-number")
    assert code == 2 and "not-a-number" in out
    run("ack", str(ids["T1"]), "--by", "ana")
    code, out = run("ack", str(ids["T1"]), "--by", "bo")
    assert code == 1 and "already acknowledged (by ana" in out
    assert status_of(cli_url, ids["T1"])[1] == "ana"
