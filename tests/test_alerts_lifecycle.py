"""The alert lifecycle in app.alerts: the real detector's output synced into a private PostgreSQL.

One campaign with steady delivery (100 spend, 10 conversions, 500 value a day) and incidents on
chosen days; each test rolls ``as_of`` forward the way the daily asset does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg
import pytest
from psycopg.types.json import Jsonb

from pipeline.analytics.alerting import AlertType, Detection, evaluate_alerts
from pipeline.warehouse.alerts_store import (
    AUTO_RESOLVER,
    DAILY_DETECTOR,
    HOURLY_DETECTOR,
    AlertNotFoundError,
    AlertTransitionError,
    acknowledge_alert,
    resolve_alert,
    sync_alerts,
)

TENANT = "default"
DAY0 = date(2026, 10, 1)


@pytest.fixture(scope="module")
def lifecycle_url(database_factory: Callable[[str], str]) -> str:
    return database_factory("alerts_lifecycle")


@pytest.fixture
def db(lifecycle_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(lifecycle_url, autocommit=True) as conn:
        conn.execute("delete from app.alerts")
        yield conn


def history(
    last: date,
    *,
    broken: set[date] = frozenset(),
    missing: set[date] = frozenset(),
    campaign_id: str = "C1",
    account_id: str = "111",
) -> pd.DataFrame:
    """Campaign-days from DAY0 to ``last``: zero conversions on ``broken`` days, no row on ``missing``."""
    rows = []
    day = DAY0
    while day <= last:
        if day not in missing:
            conversions, value = (0.0, 0.0) if day in broken else (10.0, 500.0)
            rows.append(
                {
                    "date_day": day,
                    "platform": "meta",
                    "account_id": account_id,
                    "campaign_id": campaign_id,
                    "campaign_name": f"Campaign {campaign_id}",
                    "currency": "EUR",
                    "spend": 100.0,
                    "impressions": 10_000.0,
                    "clicks": 200.0,
                    "conversions": conversions,
                    "conversion_value": value,
                }
            )
        day += timedelta(days=1)
    return pd.DataFrame(rows)


def health(last: date, bad: dict[date, str] | None = None, account_id: str = "111") -> pd.DataFrame:
    """Signal health per day; ``bad`` days degraded with a completeness issue named by the value."""
    rows = []
    day = DAY0
    while day <= last:
        check = (bad or {}).get(day)
        rows.append(
            {
                "date_day": day,
                "platform": "meta",
                "account_id": account_id,
                "health_score": 55.0 if check else 100.0,
                "status": "degraded" if check else "healthy",
                "freshness_score": 100.0,
                "completeness_score": 55.0 if check else 100.0,
                "accuracy_score": 100.0,
                "issues": [{"check": check, "detail": "no rows"}] if check else [],
            }
        )
        day += timedelta(days=1)
    return pd.DataFrame(rows)


def detect(as_of: date, frame: pd.DataFrame, health_frame: pd.DataFrame | None = None) -> Detection:
    return evaluate_alerts(frame[frame["date_day"] < as_of], as_of, health=health_frame)


def sync(conn: psycopg.Connection, detection: Detection, as_of: date | datetime, **kw: Any) -> dict[str, Any]:
    return sync_alerts(
        conn, detection, tenant_id=TENANT, run_id=f"run-{as_of}", detector=kw.get("detector", DAILY_DETECTOR),
        as_of=as_of,
    )  # fmt: skip


def rows(
    conn: psycopg.Connection, alert_type: str = "ZERO_CONVERSIONS", level: str = "campaign"
) -> list[dict]:
    cur = conn.execute(
        "select alert_id, status, severity, detection_count, window_end, first_detected_at, last_detected_at,"
        " resolved_by, resolved_at, resolution, suppressed_reason, acknowledged_by, detected_by, evidence"
        " from app.alerts where alert_type = %s and entity_level = %s order by alert_id",
        (alert_type, level),
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


BREAK_START = date(2026, 11, 10)
BROKEN = {BREAK_START + timedelta(days=i) for i in range(3)}  # 10th-12th: no conversions
FRAME = history(date(2026, 11, 30), broken=BROKEN)


def test_redetection_updates_the_live_alert_and_reruns_change_nothing(db: psycopg.Connection) -> None:
    first = date(2026, 11, 12)  # the 10th and 11th are broken
    counts = sync(db, detect(first, FRAME), first)
    assert counts["opened"] >= 1
    [opened] = rows(db)
    assert (opened["status"], opened["detection_count"], opened["detected_by"]) == ("open", 1, DAILY_DETECTOR)

    again = sync(db, detect(first, FRAME), first)  # the same run twice: nothing new
    assert again["opened"] == 0 and again["resolved"] == 0
    assert rows(db) == [opened]

    later = date(2026, 11, 13)  # still broken: the same alert, detected again
    sync(db, detect(later, FRAME), later)
    [updated] = rows(db)
    assert updated["alert_id"] == opened["alert_id"]
    assert updated["detection_count"] == 2
    assert updated["window_end"] == date(2026, 11, 12)
    assert updated["first_detected_at"] == opened["first_detected_at"]
    assert updated["last_detected_at"] >= opened["last_detected_at"]


def test_recovery_resolves_the_alert_with_evidence(db: psycopg.Connection) -> None:
    sync(db, detect(date(2026, 11, 13), FRAME), date(2026, 11, 13))
    [live] = rows(db)
    acknowledge_alert(db, live["alert_id"], by="ana", note="checking the pixel", tenant_id=TENANT)

    recovered = date(2026, 11, 14)  # the 13th converts again
    counts = sync(db, detect(recovered, FRAME), recovered)

    [resolved] = rows(db)
    assert counts["resolved"] >= 1 and resolved["alert_id"] in counts["resolved_ids"]
    assert resolved["status"] == "resolved"
    assert resolved["resolved_by"] == AUTO_RESOLVER and resolved["resolved_at"] is not None
    assert resolved["acknowledged_by"] == "ana"
    assert resolved["resolution"]["reason"] == "recovered"
    check = resolved["resolution"]["check"]
    assert check["metric"] == "conversions" and check["value"] == 10.0
    assert check["window_end"] == "2026-11-13"
    assert resolved["evidence"]["recovery"] == check
    # Running the recovery again changes nothing; a new incident later opens a new alert.
    assert sync(db, detect(recovered, FRAME), recovered)["resolved"] == 0
    relapse = history(date(2026, 11, 30), broken=BROKEN | {date(2026, 11, 20), date(2026, 11, 21)})
    sync(db, detect(date(2026, 11, 22), relapse), date(2026, 11, 22))
    assert [r["status"] for r in rows(db)] == ["resolved", "open"]


def test_missing_data_never_resolves(db: psycopg.Connection) -> None:
    sync(db, detect(date(2026, 11, 13), FRAME), date(2026, 11, 13))
    # The campaign's rows for the 13th are missing: the detector cannot score it, the alert stays.
    gap = history(date(2026, 11, 30), broken=BROKEN, missing={date(2026, 11, 13)})
    counts = sync(db, detect(date(2026, 11, 14), gap), date(2026, 11, 14))
    assert counts["resolved"] == 0
    assert [r["status"] for r in rows(db)] == ["open"]


def test_a_held_alert_stays_held_while_the_data_is_unhealthy(db: psycopg.Connection) -> None:
    as_of = date(2026, 11, 13)
    unhealthy = health(date(2026, 11, 30), {date(2026, 11, 12): "completeness_entity_coverage"})
    sync(db, detect(as_of, FRAME, unhealthy), as_of)
    [held] = rows(db)
    assert held["status"] == "suppressed"
    assert held["suppressed_reason"].startswith("held: signal health degraded for meta account 111")

    # Conversions are back on the 13th, but the window still touches the degraded 12th: not scored.
    sync(db, detect(date(2026, 11, 14), FRAME, unhealthy), date(2026, 11, 14))
    [still] = rows(db)
    assert (still["status"], still["suppressed_reason"]) == ("suppressed", held["suppressed_reason"])
    [data] = rows(db, "DATA_INCOMPLETE", "account")
    assert data["status"] == "open"


def test_other_producers_alerts_are_never_touched(db: psycopg.Connection) -> None:
    # The rules engine's alert on the same campaign, and an intraday CPC alert on the account.
    db.execute(
        "insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level, entity_id,"
        " title, message, evidence) values (%s, 'RULE_7', 'HIGH', 'meta', '111', 'campaign', 'C1', 'rule',"
        " 'rule matched', %s)",
        (TENANT, Jsonb({})),
    )
    hourly = Detection(alerts=[], cleared=[], alert_types=())
    db.execute(
        "insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level, entity_id,"
        " title, message, detected_by, evaluated_as_of) values (%s, 'CPC_SPIKE', 'MEDIUM', 'meta', '111',"
        " 'campaign', 'C1', 'cpc', 'cpc so far', %s, %s)",
        (TENANT, HOURLY_DETECTOR, datetime(2026, 11, 14, 15, tzinfo=UTC)),
    )
    sync(db, hourly, datetime(2026, 11, 14, 15, tzinfo=UTC), detector=HOURLY_DETECTOR)

    # Healthy days: the daily detector passes CPC_SPIKE for C1, but that live alert is the hourly one's.
    detection = detect(date(2026, 11, 25), FRAME)
    assert any(c.alert_type == AlertType.CPC_SPIKE and c.entity_id == "C1" for c in detection.cleared)
    sync(db, detection, date(2026, 11, 25))
    assert [r["status"] for r in rows(db, "RULE_7")] == ["open"]
    assert [r["status"] for r in rows(db, "CPC_SPIKE")] == ["open"]


def test_the_daily_and_the_hourly_detector_each_keep_their_own_live_alert(db: psycopg.Connection) -> None:
    for detector in (HOURLY_DETECTOR, DAILY_DETECTOR):
        db.execute(
            "insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level,"
            " entity_id, title, message, detected_by) values (%s, 'CPC_SPIKE', 'MEDIUM', 'meta', '111',"
            " 'campaign', 'C9', 'cpc', 'cpc up', %s)",
            (TENANT, detector),
        )
    live = db.execute(
        "select detected_by from app.alerts where entity_id = 'C9' and status = 'open' order by detected_by"
    ).fetchall()
    assert live == [(DAILY_DETECTOR,), (HOURLY_DETECTOR,)]
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute(
            "insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level,"
            " entity_id, title, message, detected_by) values (%s, 'CPC_SPIKE', 'HIGH', 'meta', '111',"
            " 'campaign', 'C9', 'cpc', 'cpc up again', %s)",
            (TENANT, DAILY_DETECTOR),
        )


def test_an_older_run_does_not_undo_a_newer_one(db: psycopg.Connection) -> None:
    sync(db, detect(date(2026, 11, 13), FRAME), date(2026, 11, 13))
    sync(db, detect(date(2026, 11, 14), FRAME), date(2026, 11, 14))  # resolved
    # A backfill for an earlier day (still broken then) neither reopens nor duplicates it.
    counts = sync(db, detect(date(2026, 11, 12), FRAME), date(2026, 11, 12))
    assert counts["stale"] >= 1 and counts["opened"] == 0
    assert [r["status"] for r in rows(db)] == ["resolved"]


def test_a_missing_day_raises_a_data_alert_that_resolves_once_restated(db: psycopg.Connection) -> None:
    gap_day = date(2026, 11, 3)
    as_of = date(2026, 11, 13)  # the gap is 10 days before the last complete day
    gap = history(date(2026, 11, 30), missing={gap_day})
    unhealthy = health(date(2026, 11, 30), {gap_day: "completeness_missing_day"})

    detection = detect(as_of, gap, unhealthy)
    assert [a.alert_type for a in detection.alerts] == [AlertType.DATA_INCOMPLETE]  # not a ROAS alert
    sync(db, detection, as_of)
    [data] = rows(db, "DATA_INCOMPLETE", "account")
    assert data["status"] == "open"
    assert data["evidence"]["affected_days"] == [gap_day.isoformat()]

    # Next day, still missing: the same alert. Then a restatement fills the day: resolved.
    sync(db, detect(as_of + timedelta(days=1), gap, unhealthy), as_of + timedelta(days=1))
    assert [r["detection_count"] for r in rows(db, "DATA_INCOMPLETE", "account")] == [2]
    restated = as_of + timedelta(days=2)
    sync(db, detect(restated, FRAME, health(date(2026, 11, 30))), restated)
    [resolved] = rows(db, "DATA_INCOMPLETE", "account")
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", AUTO_RESOLVER)
    assert resolved["resolution"]["check"]["metric"] == "completeness_score"


def test_a_data_alert_whose_days_aged_out_unfixed_is_not_resolved(db: psycopg.Connection) -> None:
    gap_day = date(2026, 10, 20)
    gap = history(date(2026, 12, 31), missing={gap_day})
    unhealthy = health(date(2026, 12, 31), {gap_day: "completeness_missing_day"})
    sync(db, detect(date(2026, 11, 1), gap, unhealthy), date(2026, 11, 1))
    # Five weeks on the day is outside what the detector reads: nothing says it was ever filled.
    late = date(2026, 11, 30)
    counts = sync(db, detect(late, gap, unhealthy), late)
    assert counts["resolved"] == 0
    assert [r["status"] for r in rows(db, "DATA_INCOMPLETE", "account")] == ["open"]


def test_people_acknowledge_and_resolve_with_clear_errors(db: psycopg.Connection) -> None:
    sync(db, detect(date(2026, 11, 13), FRAME), date(2026, 11, 13))
    [live] = rows(db)
    alert_id = live["alert_id"]

    done = acknowledge_alert(db, alert_id, by="ana", note="on it", tenant_id=TENANT)
    assert (done["status"], done["by"]) == ("acknowledged", "ana")
    with pytest.raises(AlertTransitionError, match=f"alert {alert_id} is already acknowledged \\(by ana"):
        acknowledge_alert(db, alert_id, by="bo", tenant_id=TENANT)
    # Re-detection keeps the acknowledgement.
    sync(db, detect(date(2026, 11, 13), FRAME), date(2026, 11, 13))
    assert rows(db)[0]["status"] == "acknowledged"

    resolve_alert(db, alert_id, by="bo", note="pixel fixed", tenant_id=TENANT)
    [resolved] = rows(db)
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "bo")
    assert resolved["resolution"] == {
        "reason": "resolved by hand",
        "note": "pixel fixed",
        "previous_status": "acknowledged",
    }
    with pytest.raises(AlertTransitionError, match="already resolved \\(by bo"):
        resolve_alert(db, alert_id, by="bo", tenant_id=TENANT)
    with pytest.raises(AlertTransitionError, match="only live alerts can be acknowledged"):
        acknowledge_alert(db, alert_id, by="bo", tenant_id=TENANT)
    with pytest.raises(AlertNotFoundError, match="no alert with id 987654"):
        resolve_alert(db, 987654, by="bo", tenant_id=TENANT)


def test_two_accounts_sharing_a_campaign_id_keep_one_live_alert_each(db: psycopg.Connection) -> None:
    """Ids are unique only within an account: campaign C1 of accounts 111 and 222 are two scopes. Both
    open their own alert; when 222 recovers, only 222's alert is resolved."""
    broken_both = history(date(2026, 11, 30), broken=BROKEN)
    recovers = history(date(2026, 11, 30), broken={BREAK_START}, account_id="222")
    first = date(2026, 11, 12)
    sync(
        db,
        detect(first, pd.concat([broken_both, history(date(2026, 11, 30), broken=BROKEN, account_id="222")])),
        first,
    )

    def live() -> list[tuple]:
        return db.execute(
            "select account_id, entity_id, status from app.alerts where alert_type = 'ZERO_CONVERSIONS'"
            " and entity_level = 'campaign' order by account_id"
        ).fetchall()

    assert live() == [("111", "C1", "open"), ("222", "C1", "open")]
    later = date(2026, 11, 20)
    sync(
        db,
        detect(
            later,
            # 111 breaks again for as long as the first time (a conclusive run), 222 has recovered
            pd.concat(
                [
                    history(
                        date(2026, 11, 30), broken=BROKEN | {later - timedelta(days=d) for d in (1, 2, 3)}
                    ),
                    recovers,
                ]
            ),
        ),
        later,
    )
    assert dict((a, s) for a, _, s in live()) == {"111": "open", "222": "resolved"}
