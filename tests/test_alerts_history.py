"""The daily alert history in app.alerts: range runs score every morning, backfills re-derive it.

Real Dagster materializations of ``app/alerts`` over marts tables written directly (the shapes dbt
builds), in a private database. Two campaigns of account 111 deliver steadily (C1: 100 spend, 10
conversions, 500 value a day) with tracking breaks on chosen days; the detector sees them on the
mornings after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import psycopg
import pytest
from psycopg.types.json import Jsonb

from pipeline.analytics.alerting import AlertConfig, evaluate_alerts
from pipeline.analytics.alerting.daily import evaluate_panel
from pipeline.analytics.alerting.frames import build_panel, prepare_budgets, prepare_health
from pipeline.defs.alerts import alerts
from pipeline.defs.partitions import range_tags
from pipeline.defs.resources import WarehouseResource
from pipeline.warehouse.alert_history_store import NOT_REDETECTED, replay_daily_alerts
from pipeline.warehouse.alerts_store import (
    AUTO_RESOLVER,
    DAILY_DETECTOR,
    HOURLY_DETECTOR,
    acknowledge_alert,
    resolve_alert,
    sync_alerts,
)
from pipeline.warehouse.marts_store import campaign_budgets_frame, campaign_daily_frame, signal_health_frame
from tests.test_alerts_assets import MARTS

TENANT = "default"
DAY0 = date(2026, 10, 1)
LAST = date(2026, 11, 30)
FIRST_BREAK = {date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)}
SECOND_BREAK = {date(2026, 11, 25), date(2026, 11, 26)}


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture(scope="module")
def history_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("alert_history")


@pytest.fixture
def conn(history_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(history_url, autocommit=True) as conn:
        conn.execute(MARTS)
        conn.execute("delete from app.alerts; delete from app.alert_watermarks")
        yield conn


def load(conn: psycopg.Connection, broken: set[date] = frozenset(), last: date = LAST) -> None:
    """The marts from DAY0 to ``last``: C1 converts nothing on ``broken`` days, C2 is steady."""
    conn.execute(
        "delete from marts.fct_campaign_performance_daily; delete from marts.fct_signal_health_daily"
    )
    with conn.cursor() as cur:
        cur.executemany(
            "insert into marts.fct_campaign_performance_daily values"
            " (%s, 'meta', '111', %s, %s, 'EUR', 1.1, %s, 10000, 200, %s, %s)",
            [
                (day, campaign, f"Campaign {campaign}", spend, conversions, conversions * 50)
                for day in days(DAY0, last)
                for campaign, spend, conversions in (
                    ("C1", 100, 0 if day in broken else 10),
                    ("C2", 80, 8),
                )
            ],
        )
        cur.executemany(
            "insert into marts.fct_signal_health_daily values (%s, 'meta', '111', 100, 'healthy', 100, 100,"
            " 100, '[]')",
            [(day,) for day in days(DAY0, last)],
        )


def materialize(url: str, first: date, last: date) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [alerts], resources={"warehouse": WarehouseResource(url=url)}, tags=range_tags(first, last)
    )
    assert result.success
    return result


def table(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    """Every column of every alert: what "changes nothing" compares."""
    return conn.execute("select * from app.alerts order by alert_id").fetchall()


def daily(conn: psycopg.Connection, alert_type: str = "ZERO_CONVERSIONS") -> list[dict[str, Any]]:
    """The daily detector's campaign alerts of a type, in the order they opened."""
    cur = conn.execute(
        "select alert_id, entity_level, entity_id, status, detection_mornings, detection_count,"
        " first_detected_at, last_detected_at, resolved_at, resolved_by, resolution, acknowledged_by"
        " from app.alerts where detected_by = %s and alert_type = %s and entity_level = 'campaign'"
        " order by detection_mornings[1], alert_id",
        (DAILY_DETECTOR, alert_type),
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def mornings_after(broken: set[date]) -> list[date]:
    return [d + timedelta(days=1) for d in sorted(broken)]


def test_a_range_run_leaves_the_alerts_of_every_morning_and_rerunning_changes_nothing(
    conn: psycopg.Connection, history_url: str
) -> None:
    load(conn, FIRST_BREAK | SECOND_BREAK)
    first, last = date(2026, 11, 1), date(2026, 11, 30)  # 30 daily partitions, one run
    result = materialize(history_url, first, last)
    metadata = result.asset_materializations_for_node(alerts.op.name)[0].metadata
    assert metadata["mornings_scored"].value == 30
    assert metadata["as_of"].value == "2026-12-01"

    # Both tracking breaks: opened the morning after the first broken day, detected each morning
    # they lasted, resolved the morning after the first day converting again.
    first_alert, second_alert = daily(conn)
    for alert, broken in ((first_alert, FIRST_BREAK), (second_alert, SECOND_BREAK)):
        assert alert["detection_mornings"] == mornings_after(broken)
        assert alert["detection_count"] == len(broken)
        assert alert["first_detected_at"] == morning(min(broken) + timedelta(days=1))
        assert alert["last_detected_at"] == morning(max(broken) + timedelta(days=1))
        assert (alert["status"], alert["resolved_by"]) == ("resolved", AUTO_RESOLVER)
        assert alert["resolved_at"] == morning(max(broken) + timedelta(days=2))
        assert alert["resolution"]["check"]["window_end"] == (max(broken) + timedelta(days=1)).isoformat()

    # Every morning of the range is in app.alerts exactly as the detector saw it that morning.
    frame = campaign_daily_frame(conn, DAY0, LAST)
    health = prepare_health(signal_health_frame(conn, DAY0, LAST))
    budgets = prepare_budgets(campaign_budgets_frame(conn))
    stored = conn.execute(
        "select alert_type, platform, entity_level, entity_id, detection_mornings from app.alerts"
    ).fetchall()
    for day in days(first, last):
        as_of = day + timedelta(days=1)
        panel = build_panel(frame, as_of, AlertConfig(), reported_as_of=LAST + timedelta(days=1))
        seen = {a.scope for a in evaluate_panel(panel, AlertConfig(), health, budgets).alerts}
        assert seen == {(t, lvl, e) for t, _, lvl, e, mornings in stored if as_of in mornings}, as_of

    before = table(conn)
    materialize(history_url, first, last)
    assert table(conn) == before  # ids, times, run ids: nothing written


def test_a_backfill_before_the_scored_mornings_rederives_the_history(
    conn: psycopg.Connection, history_url: str
) -> None:
    load(conn, FIRST_BREAK | SECOND_BREAK)
    # The daily runs started on the 25th: the second break is found, the first is not.
    for day in days(date(2026, 11, 25), date(2026, 11, 27)):
        materialize(history_url, day, day)
    [live] = daily(conn)
    assert live["detection_mornings"] == mornings_after(SECOND_BREAK)

    # History imported: a backfill of the first half of the month (mornings the 2nd to the 16th).
    materialize(history_url, date(2026, 11, 1), date(2026, 11, 15))
    first_alert, second_alert = daily(conn)
    assert first_alert["detection_mornings"] == mornings_after(FIRST_BREAK)
    assert first_alert["status"] == "resolved"
    # The later mornings were replayed too: the second alert kept its id and its history.
    assert (second_alert["alert_id"], second_alert["detection_mornings"]) == (
        live["alert_id"],
        mornings_after(SECOND_BREAK),
    )
    assert second_alert["status"] == "resolved"  # the 27th converted again: the morning of the 28th
    watermark = conn.execute("select scored_through from app.alert_watermarks").fetchone()
    assert watermark == (date(2026, 11, 28),)

    before = table(conn)
    materialize(history_url, date(2026, 11, 1), date(2026, 11, 15))
    materialize(history_url, date(2026, 11, 27), date(2026, 11, 27))
    assert table(conn) == before


def test_people_keep_what_they_did_when_the_history_is_replayed(
    conn: psycopg.Connection, history_url: str
) -> None:
    load(conn, FIRST_BREAK | SECOND_BREAK)
    materialize(history_url, date(2026, 11, 1), date(2026, 11, 10))  # the first break is live
    [first_alert] = daily(conn)
    acknowledge_alert(conn, first_alert["alert_id"], by="ana", note="checking the pixel", tenant_id=TENANT)
    materialize(history_url, date(2026, 11, 11), date(2026, 11, 25))  # ...resolves; the second opens
    [_, second_alert] = daily(conn)
    resolve_alert(conn, second_alert["alert_id"], by="bo", note="known outage", tenant_id=TENANT)
    materialize(history_url, date(2026, 11, 26), date(2026, 11, 26))  # still broken: a new alert
    kept = daily(conn)
    assert [a["status"] for a in kept] == ["resolved", "resolved", "open"]

    # The whole month again: the acknowledgement, the hand resolution and the ids all stand.
    materialize(history_url, date(2026, 11, 1), date(2026, 11, 29))
    replayed = daily(conn)
    assert [a["alert_id"] for a in replayed] == [a["alert_id"] for a in kept]
    assert (replayed[0]["acknowledged_by"], replayed[0]["status"]) == ("ana", "resolved")
    assert replayed[1] == kept[1]  # resolved by hand: untouched
    assert replayed[2]["detection_mornings"] == [date(2026, 11, 27)]
    assert replayed[2]["status"] == "resolved"  # the 27th converted again


def test_a_backfill_on_restated_data_drops_what_is_no_longer_there(
    conn: psycopg.Connection, history_url: str
) -> None:
    load(conn, FIRST_BREAK | SECOND_BREAK)
    materialize(history_url, date(2026, 11, 1), date(2026, 11, 25))
    first_alert, second_alert = daily(conn)
    acknowledge_alert(conn, second_alert["alert_id"], by="ana", tenant_id=TENANT)
    # Other producers' alerts on the same campaign: never read or written by the daily history.
    conn.execute(
        "insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level,"
        " entity_id, title, message, evidence, detected_by, evaluated_as_of) values"
        " (%s, 'RULE_7', 'HIGH', 'meta', '111', 'campaign', 'C1', 'rule', 'matched', %s, 'rule:7', %s),"
        " (%s, 'CPC_SPIKE', 'MEDIUM', 'meta', '111', 'campaign', 'C1', 'cpc', 'so far', %s, %s, %s)",
        (TENANT, Jsonb({}), morning(LAST), TENANT, Jsonb({}), HOURLY_DETECTOR, morning(LAST)),
    )
    others = conn.execute("select * from app.alerts where detected_by <> %s", (DAILY_DETECTOR,)).fetchall()

    # The platform restated both breaks away (the conversions were reported late).
    load(conn, set())
    materialize(history_url, date(2026, 11, 1), date(2026, 11, 25))
    assert [a["alert_id"] for a in daily(conn)] == [second_alert["alert_id"]]  # the first is gone
    [kept] = daily(conn)
    assert (kept["status"], kept["acknowledged_by"]) == ("resolved", "ana")
    assert kept["resolution"]["reason"] == NOT_REDETECTED
    assert (
        conn.execute("select * from app.alerts where detected_by <> %s", (DAILY_DETECTOR,)).fetchall()
        == others
    )
    assert first_alert["alert_id"] not in [a["alert_id"] for a in daily(conn)]


def test_the_replayed_lifecycle_is_the_one_sync_alerts_applies(conn: psycopg.Connection) -> None:
    load(conn, FIRST_BREAK | SECOND_BREAK)
    frame = campaign_daily_frame(conn, DAY0, LAST)
    config = AlertConfig(recent_maturity=(1.0,))  # mature data either way: the same detections
    for day in days(date(2026, 11, 1), date(2026, 11, 29)):
        as_of = day + timedelta(days=1)
        detection = evaluate_alerts(frame, as_of, config)
        sync_alerts(conn, detection, tenant_id=TENANT, run_id=None, detector=DAILY_DETECTOR, as_of=as_of)
    columns = (
        "alert_type, entity_level, entity_id, status, severity, detection_count, detection_mornings,"
        " window_start, window_end, evaluated_as_of, resolved_by, resolution->'check'"
    )
    synced = conn.execute(f"select {columns} from app.alerts order by alert_id").fetchall()
    assert len(synced) >= 2

    conn.execute("delete from app.alerts")
    replay_daily_alerts(
        conn, date(2026, 11, 1), date(2026, 11, 29), tenant_id=TENANT, run_id="replay", config=config
    )
    assert conn.execute(f"select {columns} from app.alerts order by alert_id").fetchall() == synced
