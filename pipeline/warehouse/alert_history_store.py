"""The daily detector's alert history in ``app.alerts``: every morning of a range, as it would have gone.

:func:`replay_daily_alerts` (the ``app/alerts`` asset) reads the marts once for its range, scores
the morning after each day of it in order (``pipeline.analytics.alerting.replay``) and writes the
history those mornings make: alerts opened, updated while detected again, auto-resolved the morning
a check passes, held while their data is unhealthy. A first import or a backfill thus leaves the
alerts a user scoring every morning would have had (``detection_mornings`` lists the mornings each
alert was detected; first / last detection and resolution times are those mornings, midnight UTC).

Backfills into scored history. ``app.alert_watermarks`` keeps the latest morning the daily detector
scored. A range starting at or before it re-derives the history from the range's first morning up
to that latest morning (the later mornings depend on the earlier ones), against the marts as they
are now:

- alerts from before the first morning are the starting point: one still live then continues (its
  earlier mornings kept) and is updated or resolved by the replayed mornings;
- the alerts the detector opened from that morning on are matched to the re-derived ones (same
  scope, overlapping mornings) and updated in place, so ids, acknowledgements and notification
  state survive; re-derived alerts without a stored one are inserted, stored ones the replay no
  longer finds are deleted;
- what people did stands: an alert resolved by hand is never changed and ends the episode it
  belonged to (the next detection opens a new alert, as it did); an alert someone acknowledged or
  a channel was told about is never deleted (if live, it is resolved as not re-detected).

Re-running a range against unchanged marts writes nothing. The hourly detector's and the rules'
alerts are never read or written here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from pipeline.analytics.alerting import AlertConfig, Detection
from pipeline.analytics.alerting.replay import (
    AlertEpisode,
    AlertLifecycle,
    ScopeKey,
    mornings_of,
    replay_alerts,
)
from pipeline.jsonable import jsonable
from pipeline.warehouse.alerts_store import AUTO_RESOLVER, DAILY_DETECTOR, LIVE_STATUSES, alert_columns
from pipeline.warehouse.marts_store import campaign_budgets_frame, campaign_daily_frame, signal_health_frame
from pipeline.warehouse.rules_store import MartsMissingError

# The detector's baseline (28 days) and scored days (4) before a morning, and slack.
DETECTION_HISTORY_DAYS = 35
REPLAY_MARTS = (
    "marts.fct_campaign_performance_daily",
    "marts.dim_campaigns",
    "marts.fct_signal_health_daily",
)
NOT_REDETECTED = "not re-detected when the alert history was replayed"

_CONTENT = (
    "severity", "title", "message", "metric", "current_value", "baseline_value", "threshold", "window_start",
    "window_end", "evidence", "signal_health", "entity_name", "account_id", "suppressed_reason",
)  # fmt: skip
_LIFECYCLE = (
    "status", "detection_mornings", "detection_count", "first_detected_at", "last_detected_at",
    "evaluated_as_of", "resolved_at", "resolved_by", "resolution",
)  # fmt: skip
_KEY = ("alert_type", "platform", "entity_level", "entity_id")  # columns; the account is in _CONTENT
# A ScopeKey's columns (replay.scope_key): ids are unique only within an account.
_SCOPE = ("alert_type", "platform", "entity_level", "entity_id", "account_id")


def moment(morning: date) -> datetime:
    """A morning as the as-of moment the detectors record (midnight UTC)."""
    return datetime(morning.year, morning.month, morning.day, tzinfo=UTC)


@dataclass(frozen=True)
class StoredAlert:
    """One of the daily detector's alerts as stored, with what the replay needs to continue it."""

    alert_id: int
    key: ScopeKey
    mornings: tuple[date, ...]
    evaluated_on: date | None
    acknowledged: bool
    notified: bool
    values: dict[str, Any]  # the _CONTENT and _LIFECYCLE columns

    @property
    def status(self) -> str:
        return str(self.values["status"])

    @property
    def hand_resolved(self) -> bool:
        return self.status == "resolved" and self.values["resolved_by"] != AUTO_RESOLVER

    @property
    def protected(self) -> bool:
        """Someone acted on it or was told about it: never deleted."""
        return self.acknowledged or self.notified or self.hand_resolved


@dataclass
class HistoryResult:
    """What a replay did: the mornings scored and the rows it changed."""

    first_morning: date
    last_morning: date
    mornings: list[tuple[date, Detection]] = field(repr=False)
    campaign_days_read: int = 0
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    removed: int = 0
    unchanged: int = 0
    live: int = 0

    @property
    def latest(self) -> Detection:
        """The detection of the last morning (what the run says about now)."""
        return self.mornings[-1][1]


# --- reading --------------------------------------------------------------------------------------

_STATE = f"""
    select a.alert_id, a.alert_type, a.platform, a.entity_level, a.entity_id, coalesce(a.account_id, ''),
        coalesce(a.detection_mornings, '{{}}'),
        (a.evaluated_as_of at time zone 'UTC')::date, a.acknowledged_at is not null,
        exists (select 1 from app.alert_notification_state s where s.alert_id = a.alert_id),
        {", ".join("a." + c for c in _CONTENT + _LIFECYCLE)}
    from app.alerts a
    where a.tenant_id = %(tenant)s and a.detected_by = %(detector)s
      and (a.status = any(%(live)s) or a.evaluated_as_of >= %(since)s)
    order by a.alert_id
"""


def stored_alerts(conn: psycopg.Connection, tenant_id: str, since: date) -> list[StoredAlert]:
    """The daily detector's alerts a replay from ``since`` can touch: the live ones and those
    judged on or after that morning."""
    rows = conn.execute(
        _STATE,
        {
            "tenant": tenant_id,
            "detector": DAILY_DETECTOR,
            "live": list(LIVE_STATUSES),
            "since": moment(since),
        },
    ).fetchall()
    out = []
    for row in rows:
        alert_id, *key = row[:6]
        mornings, evaluated_on, acknowledged, notified = row[6:10]
        values = dict(zip(_CONTENT + _LIFECYCLE, row[10:], strict=True))
        out.append(
            StoredAlert(alert_id, tuple(key), tuple(mornings), evaluated_on, acknowledged, notified, values)
        )
    return out


def scored_through(conn: psycopg.Connection, tenant_id: str) -> date | None:
    row = conn.execute(
        "select scored_through from app.alert_watermarks where tenant_id = %s and detected_by = %s",
        (tenant_id, DAILY_DETECTOR),
    ).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class ReplayInputs:
    """What a replay of mornings first..last reads from the marts, once."""

    campaign_daily: pd.DataFrame
    health: pd.DataFrame
    budgets: pd.DataFrame
    # The marts hold each day as last reported: days well before their newest day have matured.
    reported_as_of: date


def replay_inputs(
    conn: psycopg.Connection,
    first_morning: date,
    last_morning: date,
    platforms: Sequence[str] = (),
    *,
    tenant_id: str,
) -> ReplayInputs:
    """The tenant's campaign days, signal health and budgets the mornings first..last read (only
    ``platforms``, if given). ``MartsMissingError`` when the marts are not built yet."""
    for table in REPLAY_MARTS:
        if conn.execute("select to_regclass(%s)", (table,)).fetchone() == (None,):
            raise MartsMissingError(
                f"{table} does not exist yet: run the daily pipeline (adsignal demo) first"
            )
    since = first_morning - timedelta(days=DETECTION_HISTORY_DAYS)
    until = last_morning - timedelta(days=1)
    frames = [
        campaign_daily_frame(conn, since, until, tenant_id=tenant_id),
        signal_health_frame(conn, since, until, tenant_id=tenant_id),
        campaign_budgets_frame(conn, tenant_id=tenant_id),
    ]
    if platforms:
        frames = [f[f["platform"].isin(list(platforms))].reset_index(drop=True) for f in frames]
    newest = conn.execute(
        "select max(date_day) from marts.fct_campaign_performance_daily where tenant_id = %s", (tenant_id,)
    ).fetchone()
    reported_as_of = last_morning
    if newest and newest[0] is not None:
        reported_as_of = max(last_morning, newest[0] + timedelta(days=1))
    return ReplayInputs(*frames, reported_as_of=reported_as_of)


# --- the replay -----------------------------------------------------------------------------------


def replay_daily_alerts(
    conn: psycopg.Connection,
    first_day: date,
    last_day: date,
    *,
    tenant_id: str,
    run_id: str | None,
    config: AlertConfig = AlertConfig(),  # noqa: B008 - frozen, never mutated
) -> HistoryResult:
    """Score the morning after each complete day first_day..last_day (and, for a backfill into
    scored history, every later morning already scored) and write the alert history they make.

    One run at a time per tenant (an advisory lock); the marts are read once, the detector runs
    without holding the lifecycle lock, and the history is written in one transaction that other
    alert writers wait for.
    """
    conn.execute("select pg_advisory_lock(hashtext(%s))", (f"app.alerts.daily-history:{tenant_id}",))
    try:
        return _replay(conn, first_day, last_day, tenant_id=tenant_id, run_id=run_id, config=config)
    finally:
        conn.rollback()  # nothing is pending here; a failure must not keep a transaction open
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (f"app.alerts.daily-history:{tenant_id}",))
        conn.commit()


def _replay(
    conn: psycopg.Connection,
    first_day: date,
    last_day: date,
    *,
    tenant_id: str,
    run_id: str | None,
    config: AlertConfig,
) -> HistoryResult:
    first_morning = mornings_of(first_day, last_day)[0]
    watermark = scored_through(conn, tenant_id)
    last_morning = last_day + timedelta(days=1)
    if watermark is not None and first_morning <= watermark:
        last_morning = max(last_morning, watermark)  # re-derive every morning already scored
    inputs = replay_inputs(conn, first_morning, last_morning, tenant_id=tenant_id)
    before = stored_alerts(conn, tenant_id, first_morning)
    conn.commit()  # the reads' transaction; the detector runs outside any

    lifecycle = _starting_point(before, first_morning)
    replay = replay_alerts(
        inputs.campaign_daily,
        first_morning - timedelta(days=1),
        last_morning - timedelta(days=1),
        config,
        budgets=inputs.budgets,
        health=inputs.health,
        reported_as_of=inputs.reported_as_of,
        lifecycle=lifecycle,
    )
    result = HistoryResult(
        first_morning, last_morning, replay.mornings, campaign_days_read=len(inputs.campaign_daily)
    )
    with conn.transaction():
        # One lifecycle writer per tenant at a time (shared with sync_alerts).
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"app.alerts:{tenant_id}",))
        stored = stored_alerts(conn, tenant_id, first_morning)
        if stored != before:
            # Someone acknowledged or resolved an alert meanwhile: rebuild the history on their
            # action. Their changes only end live alerts, so the checks computed suffice.
            lifecycle = _starting_point(stored, first_morning)
            for morning, detection in replay.mornings:
                lifecycle.apply(morning, detection)
            episodes = lifecycle.finish()
        else:
            episodes = replay.history
        _write(conn, stored, episodes, first_morning, result, tenant_id=tenant_id, run_id=run_id)
        conn.execute(
            """insert into app.alert_watermarks (tenant_id, detected_by, scored_through) values (%s, %s, %s)
               on conflict (tenant_id, detected_by) do update set scored_through = excluded.scored_through,
                   updated_at = now()
               where app.alert_watermarks.scored_through < excluded.scored_through""",
            (tenant_id, DAILY_DETECTOR, last_morning),
        )
        live = conn.execute(
            "select count(*) from app.alerts where tenant_id = %s and detected_by = %s and status = any(%s)",
            (tenant_id, DAILY_DETECTOR, list(LIVE_STATUSES)),
        ).fetchone()
        result.live = int(live[0]) if live else 0
    return result


def _starting_point(stored: Sequence[StoredAlert], first_morning: date) -> AlertLifecycle:
    """The lifecycle just before ``first_morning``: alerts live then carried over, hand
    resolutions from then on as closures."""
    carried: dict[ScopeKey, AlertEpisode] = {}
    closures = []
    for alert in stored:
        if alert.hand_resolved and alert.evaluated_on is not None:
            closures.append((alert.evaluated_on, alert.key, alert.alert_id))
        earlier = [m for m in alert.mornings if m < first_morning]
        if not earlier:
            continue
        previous = carried.get(alert.key)
        if previous is None or previous.mornings[-1] < earlier[-1]:  # one live per scope
            carried[alert.key] = AlertEpisode(
                alert.key, mornings=earlier, window_start=alert.values["window_start"], ref=alert.alert_id
            )
    return AlertLifecycle(carried.values(), closures)


# --- writing --------------------------------------------------------------------------------------


def _write(
    conn: psycopg.Connection,
    stored: Sequence[StoredAlert],
    episodes: Sequence[AlertEpisode],
    first_morning: date,
    result: HistoryResult,
    *,
    tenant_id: str,
    run_id: str | None,
) -> None:
    """Bring the stored alerts in line with the episodes: match, then delete, update, insert."""
    by_id = {a.alert_id: a for a in stored}
    candidates: dict[ScopeKey, list[StoredAlert]] = defaultdict(list)
    for alert in stored:
        if not alert.hand_resolved and not any(m < first_morning for m in alert.mornings):
            candidates[alert.key].append(alert)
    matched: set[int] = set()
    pairs: list[tuple[StoredAlert | None, AlertEpisode]] = []
    for episode in episodes:
        if episode.ref is not None:
            target = by_id[int(episode.ref)]
            matched.add(target.alert_id)
            if not target.hand_resolved:
                pairs.append((target, episode))
            continue
        if episode.closed_by is not None:
            continue  # a person resolved it: the alert they resolved stands for it
        days = set(episode.mornings)
        overlapping = [
            a for a in candidates[episode.key] if a.alert_id not in matched and days & set(a.mornings)
        ]
        target = max(overlapping, key=lambda a: (len(days & set(a.mornings)), -a.alert_id), default=None)
        if target is not None:
            matched.add(target.alert_id)
        pairs.append((target, episode))

    leftovers = [a for key in candidates for a in candidates[key] if a.alert_id not in matched]
    for alert in leftovers:
        if not alert.protected:
            conn.execute("delete from app.alerts where alert_id = %s", (alert.alert_id,))
            result.removed += 1
        elif alert.status in LIVE_STATUSES:
            _retire(conn, alert, first_morning, run_id)
            result.resolved += 1
    # Rows that end resolved first, then live ones, then new ones: one live alert per scope throughout.
    desired = [(target, episode, _desired(episode, target, run_id)) for target, episode in pairs]
    desired.sort(key=lambda item: (item[0] is None, item[2]["status"] != "resolved"))
    for target, episode, values in desired:
        if target is None:
            _insert(conn, episode, values, tenant_id=tenant_id, run_id=run_id)
            result.opened += 1
            result.resolved += values["status"] == "resolved"
        elif _same(target.values, values):
            result.unchanged += 1
        else:
            _update(conn, target.alert_id, values, run_id=run_id)
            result.updated += 1
            if values["status"] == "resolved" and target.status != "resolved":
                result.resolved += 1


def _desired(episode: AlertEpisode, stored: StoredAlert | None, run_id: str | None) -> dict[str, Any]:
    """The stored alert's columns as the episode leaves it (content kept when not re-detected)."""
    values: dict[str, Any] = dict(stored.values) if stored else {}
    alert = episode.alert
    if alert is not None:
        values.update(alert_columns(alert))
    else:
        values["evidence"] = {k: v for k, v in (values.get("evidence") or {}).items() if k != "recovery"}
    mornings = list(episode.mornings)
    values["detection_mornings"] = mornings
    values["detection_count"] = max(len(mornings), 1)
    if episode.ref is None:  # opened within the replay: its times are its mornings
        values["first_detected_at"] = moment(mornings[0])
    if alert is not None:
        values["last_detected_at"] = moment(mornings[-1])
    judged = mornings[-1]
    values.update(resolved_at=None, resolved_by=None, resolution=None)
    if episode.resolved_on is not None:
        judged = episode.resolved_on
        check = jsonable(episode.recovery.evidence) if episode.recovery else None
        values.update(
            status="resolved",
            resolved_at=moment(episode.resolved_on),
            resolved_by=AUTO_RESOLVER,
            resolution={
                "reason": "recovered",
                "as_of": moment(episode.resolved_on).isoformat(),
                "run_id": run_id,
                "check": check,
            },
        )
        values["evidence"] = {**values["evidence"], "recovery": check}
    elif episode.closed_by is not None:  # a person resolved another alert of its scope
        values.update(
            status="resolved",
            resolved_by=AUTO_RESOLVER,
            resolution={"reason": f"resolved by hand as alert {episode.closed_by}", "run_id": run_id},
        )
        values["resolved_at"] = values.get("last_detected_at")
    elif values.get("suppressed_reason"):
        values["status"] = "suppressed"
    else:
        values["status"] = "acknowledged" if stored is not None and stored.acknowledged else "open"
    values["evaluated_as_of"] = moment(judged)
    return values


def _same(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    """Nothing to write (the run id inside a resolution does not count)."""
    for column in _CONTENT + _LIFECYCLE:
        a, b = current.get(column), desired.get(column)
        if column == "resolution":
            a = {k: v for k, v in a.items() if k != "run_id"} if isinstance(a, dict) else a
            b = {k: v for k, v in b.items() if k != "run_id"} if isinstance(b, dict) else b
        if column == "detection_mornings":
            a, b = list(a or []), list(b or [])
        if a != b:
            return False
    return True


def _params(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for column in ("evidence", "signal_health", "resolution"):
        out[column] = None if values.get(column) is None else Jsonb(jsonable(values[column]))
    return out


_COLUMNS = _CONTENT + _LIFECYCLE


def _update(conn: psycopg.Connection, alert_id: int, values: dict[str, Any], *, run_id: str | None) -> None:
    assignments = ", ".join(f"{c} = %({c})s" for c in _COLUMNS)
    conn.execute(
        f"update app.alerts set {assignments}, run_id = %(run)s where alert_id = %(id)s",
        {**_params(values), "run": run_id, "id": alert_id},
    )


def _insert(
    conn: psycopg.Connection,
    episode: AlertEpisode,
    values: dict[str, Any],
    *,
    tenant_id: str,
    run_id: str | None,
) -> None:
    columns = ("tenant_id", *_KEY, "detected_by", "run_id", *_COLUMNS)
    params = {
        **_params(values),
        "tenant_id": tenant_id,
        "detected_by": DAILY_DETECTOR,
        "run_id": run_id,
        **{c: v for c, v in zip(_SCOPE, episode.key, strict=True) if c in _KEY},
    }
    conn.execute(
        f"insert into app.alerts ({', '.join(columns)}) values ({', '.join(f'%({c})s' for c in columns)})",
        params,
    )


def _retire(conn: psycopg.Connection, alert: StoredAlert, first_morning: date, run_id: str | None) -> None:
    """A live alert someone acted on that the replay no longer finds: resolved, never deleted."""
    conn.execute(
        """update app.alerts set status = 'resolved', resolved_by = %(by)s, resolved_at = %(at)s,
               resolution = %(resolution)s, evaluated_as_of = %(at)s, run_id = %(run)s
           where alert_id = %(id)s""",
        {
            "by": AUTO_RESOLVER,
            "at": moment(first_morning),
            "resolution": Jsonb({"reason": NOT_REDETECTED, "as_of": moment(first_morning).isoformat()}),
            "run": run_id,
            "id": alert.alert_id,
        },
    )
