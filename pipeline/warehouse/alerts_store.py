"""``app.alerts``: the alert lifecycle (sync a detection, list, acknowledge, resolve) with its audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb

from pipeline.jsonable import jsonable


class CheckLike(Protocol):
    alert_type: str
    platform: str
    entity_level: str
    entity_id: str
    window_start: date
    window_end: date
    evidence: dict[str, Any]
    covers_since: date | None


class DetectionLike(Protocol):
    @property
    def alerts(self) -> Sequence[AlertLike]: ...
    @property
    def cleared(self) -> Sequence[CheckLike]: ...
    @property
    def alert_types(self) -> Sequence[str]: ...


class AlertLike(Protocol):
    alert_type: str
    severity: str
    platform: str
    account_id: str | None
    entity_level: str
    entity_id: str
    entity_name: str | None
    metric: str
    value: float | None
    baseline: float | None
    threshold: float | None
    window_start: date
    window_end: date
    title: str
    message: str
    evidence: dict[str, Any]
    suppressed_reason: str | None


# --- the alert lifecycle -------------------------------------------------------------------------

DAILY_DETECTOR = "detector:daily"
HOURLY_DETECTOR = "detector:hourly"
AUTO_RESOLVER = "adsignal:auto"
LIVE_STATUSES = ("open", "acknowledged", "suppressed")
ALERT_STATUSES = ("open", "acknowledged", "suppressed", "resolved")


def alert_columns(alert: AlertLike) -> dict[str, Any]:
    """What a detected alert says, as ``app.alerts`` columns (evidence and signal health JSON-ready)."""
    evidence = jsonable(asdict(alert)["evidence"])  # type: ignore[call-overload]
    return {
        "severity": str(alert.severity),
        "title": alert.title,
        "message": alert.message,
        "metric": alert.metric,
        "current_value": alert.value,
        "baseline_value": alert.baseline,
        "threshold": alert.threshold,
        "window_start": alert.window_start,
        "window_end": alert.window_end,
        "evidence": evidence,
        "signal_health": evidence.get("signal_health"),
        "entity_name": alert.entity_name,
        "account_id": alert.account_id,
        "suppressed_reason": alert.suppressed_reason,
    }


def _alert_params(
    alert: AlertLike,
    tenant_id: str,
    run_id: str | None,
    detector: str,
    as_of: datetime,
    morning: date | None = None,
) -> dict:
    columns = alert_columns(alert)
    return {
        **columns,
        "evidence": Jsonb(columns["evidence"]),
        "signal_health": Jsonb(columns["signal_health"]),
        "tenant": tenant_id,
        "type": str(alert.alert_type),
        "platform": alert.platform,
        "level": str(alert.entity_level),
        "entity": alert.entity_id,
        "account": alert.account_id,  # ids are unique only within an account: part of the scope
        "run": run_id,
        "detector": detector,
        "as_of": as_of,
        # A daily run is as of a morning, kept in the alert's history (app.alerts.detection_mornings).
        "mornings": None if morning is None else [morning],
    }


# Shared by every producer of ``app.alerts`` (the detectors here, the rules in rules_store): an insert
# ``select ... where`` guard and the ``do update`` tail of its upsert into one live alert per scope.
# Parameters: tenant, detector (its detected_by), type, platform, level, entity, as_of.
NOT_JUDGED_LATER = """-- a run for an older as-of than this producer already judged the scope on changes nothing
    where not exists (
        select 1 from app.alerts newer
        where newer.tenant_id = %(tenant)s and newer.detected_by = %(detector)s
          and newer.alert_type = %(type)s and newer.platform = %(platform)s
          and newer.entity_level = %(level)s and newer.entity_id = %(entity)s
          and coalesce(newer.account_id, '') = coalesce(%(account)s::text, '')
          and newer.evaluated_as_of > %(as_of)s)
    on conflict (tenant_id, detected_by, alert_type, platform, entity_level, (coalesce(account_id, '')), entity_id)
        where status in ('open', 'acknowledged', 'suppressed')"""
REDETECTION = """-- a re-run for the same as-of is not a new detection
        last_detected_at = case when app.alerts.evaluated_as_of is null
                                  or excluded.evaluated_as_of > app.alerts.evaluated_as_of
                                then now() else app.alerts.last_detected_at end,
        detection_count = app.alerts.detection_count
            + (app.alerts.evaluated_as_of is null or excluded.evaluated_as_of > app.alerts.evaluated_as_of)::int,
        detected_by = excluded.detected_by,
        evaluated_as_of = greatest(app.alerts.evaluated_as_of, excluded.evaluated_as_of)"""

_UPSERT = f"""
    insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level,
        entity_id, entity_name, title, message, metric, current_value, baseline_value, threshold,
        window_start, window_end, evidence, signal_health, run_id, status, suppressed_reason,
        detected_by, evaluated_as_of, detection_mornings)
    select %(tenant)s, %(type)s, %(severity)s, %(platform)s, %(account_id)s, %(level)s, %(entity)s,
        %(entity_name)s, %(title)s, %(message)s, %(metric)s, %(current_value)s, %(baseline_value)s,
        %(threshold)s, %(window_start)s, %(window_end)s, %(evidence)s, %(signal_health)s, %(run)s,
        case when %(suppressed_reason)s::text is null then 'open' else 'suppressed' end,
        %(suppressed_reason)s, %(detector)s, %(as_of)s, %(mornings)s::date[]
    {NOT_JUDGED_LATER}
    do update set severity = excluded.severity, title = excluded.title, message = excluded.message,
        entity_name = excluded.entity_name, account_id = excluded.account_id,
        metric = excluded.metric, current_value = excluded.current_value,
        baseline_value = excluded.baseline_value, threshold = excluded.threshold,
        window_start = excluded.window_start, window_end = excluded.window_end,
        evidence = excluded.evidence, signal_health = excluded.signal_health, run_id = excluded.run_id,
        suppressed_reason = excluded.suppressed_reason,
        -- a person's acknowledgement survives re-detection; holding follows the data
        status = case when excluded.suppressed_reason is not null then 'suppressed'
                      when app.alerts.acknowledged_at is not null then 'acknowledged'
                      else 'open' end,
        -- a daily run (as-of a morning) adds its morning to the alert's history once
        detection_mornings = case when excluded.detection_mornings is not null
                                   and (app.alerts.evaluated_as_of is null
                                        or excluded.evaluated_as_of > app.alerts.evaluated_as_of)
                                  then coalesce(app.alerts.detection_mornings, '{{}}') || excluded.detection_mornings
                                  else app.alerts.detection_mornings end,
        {REDETECTION}
    returning (xmax = 0) as inserted
"""

# Resolve the live alerts of passed checks: only this detector's own alerts, only when this run is
# not older than the last one that judged them, and (data alerts) only when the check re-examined
# the alert's days.
_RESOLVE = """
    with passed as (
        select * from unnest(%(types)s::text[], %(platforms)s::text[], %(levels)s::text[],
                             %(accounts)s::text[], %(entities)s::text[], %(covers)s::date[],
                             %(evidence)s::jsonb[])
            as p(alert_type, platform, entity_level, account_id, entity_id, covers_since, evidence)
    )
    update app.alerts a
    set status = 'resolved', resolved_at = now(), resolved_by = %(resolver)s,
        resolution = jsonb_build_object('reason', 'recovered', 'as_of', %(as_of_text)s::text,
                                         'run_id', %(run)s::text, 'check', passed.evidence),
        evidence = a.evidence || jsonb_build_object('recovery', passed.evidence),
        evaluated_as_of = %(as_of)s::timestamptz
    from passed
    where a.tenant_id = %(tenant)s and a.detected_by = %(detector)s
      and a.status in ('open', 'acknowledged', 'suppressed')
      and a.alert_type = passed.alert_type and a.platform = passed.platform
      and a.entity_level = passed.entity_level and a.entity_id = passed.entity_id
      and coalesce(a.account_id, '') = coalesce(passed.account_id, '')
      and (a.evaluated_as_of is null or a.evaluated_as_of <= %(as_of)s)
      and (passed.covers_since is null or a.window_start >= passed.covers_since)
    returning a.alert_id
"""


def sync_alerts(
    conn: psycopg.Connection,
    detection: DetectionLike,
    *,
    tenant_id: str,
    run_id: str | None,
    detector: str,
    as_of: datetime | date,
) -> dict[str, Any]:
    """Bring ``app.alerts`` in line with one detector run, in one transaction.

    Every alert opens a live alert for its (type, entity) or refreshes the live one (severity,
    evidence, last_detected_at; detection_count once per new as-of; an acknowledgement is kept, a
    held alert shows as suppressed with its reason). Every passed check resolves the live alert of
    its scope that this ``detector`` raised (resolved_by 'adsignal:auto', the check's figures as
    evidence of recovery). Scopes the run did not score are left alone, as are other producers'
    alerts and any scope already judged by a run for a later ``as_of``. Re-running is a no-op.
    Returns counts (opened, updated, resolved, stale) and the resolved alert ids.
    """
    moment = (
        as_of if isinstance(as_of, datetime) else datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    )
    morning = None if isinstance(as_of, datetime) else as_of
    counts: dict[str, Any] = {"opened": 0, "updated": 0, "resolved": 0, "stale": 0, "resolved_ids": []}
    with conn.transaction():
        # One lifecycle writer per tenant at a time (the daily runs of several platforms overlap).
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"app.alerts:{tenant_id}",))
        for alert in detection.alerts:
            params = _alert_params(alert, tenant_id, run_id, detector, moment, morning)
            row = conn.execute(_UPSERT, params).fetchone()
            counts["stale" if row is None else "opened" if row[0] else "updated"] += 1
        owned = {str(t) for t in detection.alert_types}
        checks = [c for c in detection.cleared if str(c.alert_type) in owned]
        if checks:
            resolved = conn.execute(
                _RESOLVE,
                {
                    "types": [str(c.alert_type) for c in checks],
                    "platforms": [c.platform for c in checks],
                    "levels": [str(c.entity_level) for c in checks],
                    "accounts": [c.account_id for c in checks],
                    "entities": [c.entity_id for c in checks],
                    "covers": [c.covers_since for c in checks],
                    "evidence": [Jsonb(jsonable(c.evidence)) for c in checks],
                    "resolver": AUTO_RESOLVER,
                    "as_of": moment,
                    "as_of_text": moment.isoformat(),
                    "run": run_id,
                    "tenant": tenant_id,
                    "detector": detector,
                },
            ).fetchall()
            counts["resolved_ids"] = sorted(r[0] for r in resolved)
            counts["resolved"] = len(resolved)
    return counts


# --- people acting on alerts (the CLI) ------------------------------------------------------------


class AlertNotFoundError(LookupError):
    """No alert with that id (for this tenant)."""


class AlertTransitionError(ValueError):
    """The alert's status does not allow the requested change."""


ALERT_LIST_COLUMNS = (
    "alert_id", "severity", "alert_type", "platform", "account_id", "entity_level", "entity_id", "entity_name",
    "title", "status", "first_detected_at", "last_detected_at", "detection_count", "acknowledged_by",
    "acknowledged_at", "resolved_by", "resolved_at", "suppressed_reason",
)  # fmt: skip


def list_alerts(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    statuses: Sequence[str] = ("open", "acknowledged"),
    severities: Sequence[str] = (),
    platforms: Sequence[str] = (),
    alert_types: Sequence[str] = (),
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Alerts filtered by status, severity, platform and type; most severe, then latest first."""
    unknown = sorted(set(statuses) - set(ALERT_STATUSES))
    if unknown:
        raise ValueError(f"unknown alert status {', '.join(unknown)}; expected {', '.join(ALERT_STATUSES)}")
    where = ["tenant_id = %(tenant)s", "status = any(%(statuses)s)"]
    if severities:
        where.append("severity = any(%(severities)s)")
    if platforms:
        where.append("platform = any(%(platforms)s)")
    if alert_types:
        where.append("alert_type = any(%(types)s)")
    rows = conn.execute(
        f"select {', '.join(ALERT_LIST_COLUMNS)} from app.alerts where {' and '.join(where)}"
        " order by array_position(array['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'], severity),"
        " last_detected_at desc, alert_id desc" + (" limit %(limit)s" if limit else ""),
        {
            "tenant": tenant_id,
            "statuses": list(statuses),
            "severities": [s.upper() for s in severities],
            "platforms": list(platforms),
            "types": [t.upper() for t in alert_types],
            "limit": limit,
        },
    ).fetchall()
    return [dict(zip(ALERT_LIST_COLUMNS, row, strict=True)) for row in rows]


def _change_alert(
    conn: psycopg.Connection, alert_id: int, change: str, *, by: str, note: str | None, tenant_id: str | None
) -> dict[str, Any]:
    """The change through ``app.change_alert`` (migration 0016): the same rules for the pipeline and for a
    manager connecting with their own role; the audit row names who connected."""
    if not by.strip():
        raise ValueError(f"who does {change} must not be empty")
    with conn.transaction():
        try:
            conn.execute(
                "select app.change_alert(%s, %s, %s, %s, %s)", (alert_id, change, note, by, tenant_id)
            )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise PermissionError(exc.diag.message_primary or str(exc)) from None
        except psycopg.Error as exc:
            if exc.sqlstate == "AS404":
                raise AlertNotFoundError(exc.diag.message_primary) from None
            if exc.sqlstate == "AS409":
                raise AlertTransitionError(exc.diag.message_primary) from None
            raise
        row = conn.execute(
            """select title, status, case when %s = 'acknowledge' then acknowledged_by else resolved_by end,
                      case when %s = 'acknowledge' then acknowledged_at else resolved_at end
               from app.alerts where alert_id = %s""",
            (change, change, alert_id),
        ).fetchone()
    title, status, actor, at = row
    return {"alert_id": alert_id, "title": title, "status": status, "by": actor, "at": at}


def acknowledge_alert(
    conn: psycopg.Connection, alert_id: int, *, by: str, note: str | None = None, tenant_id: str | None
) -> dict[str, Any]:
    """open (or held) → acknowledged, recording who and when; the alert stays live until resolved."""
    return _change_alert(conn, alert_id, "acknowledge", by=by, note=note, tenant_id=tenant_id)


def resolve_alert(
    conn: psycopg.Connection, alert_id: int, *, by: str, note: str | None = None, tenant_id: str | None
) -> dict[str, Any]:
    """open / acknowledged / held → resolved, recording who, when and why. If the detector still
    sees the problem on its next run, a new alert opens."""
    return _change_alert(conn, alert_id, "resolve", by=by, note=note, tenant_id=tenant_id)


def live_alert_count(conn: psycopg.Connection, tenant_id: str) -> int:
    return conn.execute(
        "select count(*) from app.alerts where tenant_id = %s and status in ('open', 'acknowledged')",
        (tenant_id,),
    ).fetchone()[0]
