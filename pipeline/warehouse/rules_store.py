"""Rules in ``app.rules``, their evaluations in ``app.rule_runs``, and what their actions write.

``import_rules`` stores validated rules (update by name: re-importing a file changes nothing twice);
The SQL that ``pipeline.rule_runs.evaluate_rules`` carries rules out with: labels in
``app.campaign_labels``, alerts in ``app.alerts`` (type ``RULE_<rule id>``, resolved when the rule stops
matching), run records with the notifications queued for the run's digest.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from pipeline.analytics.rules import Rule, RuleFileError, load_rules_file, rule_from_definition
from pipeline.analytics.rules.evaluate import RuleAlert, RuleEvaluation
from pipeline.analytics.rules.models import ApplyLabel
from pipeline.warehouse.alerts_store import NOT_JUDGED_LATER, REDETECTION
from pipeline.warehouse.marts_store import mart_frame

log = logging.getLogger(__name__)

MARTS_NEEDED = ("marts.fct_campaign_performance_daily", "marts.dim_campaigns")


class MartsMissingError(RuntimeError):
    """The marts rules read are not built yet."""


@dataclass(frozen=True)
class StoredRule:
    rule_id: int
    name: str
    enabled: bool
    definition: dict[str, Any]
    source: str | None
    execution_count: int
    last_run_at: datetime | None
    last_result: dict[str, Any] | None
    updated_at: datetime

    def rule(self) -> Rule:
        """The validated rule (``RuleFileError`` if the stored definition no longer validates)."""
        return rule_from_definition(self.definition, enabled=self.enabled)


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# --- rules ----------------------------------------------------------------------------------------

_RULE_COLUMNS = (
    "rule_id, name, enabled, definition, source, execution_count, last_run_at, last_result, updated_at"
)


def list_rules(conn: psycopg.Connection, *, tenant_id: str, enabled_only: bool = False) -> list[StoredRule]:
    rows = conn.execute(
        f"select {_RULE_COLUMNS} from app.rules where tenant_id = %s"
        + (" and enabled" if enabled_only else "")
        + " order by name",
        (tenant_id,),
    ).fetchall()
    return [StoredRule(*row) for row in rows]


def get_rule(conn: psycopg.Connection, name: str, *, tenant_id: str) -> StoredRule | None:
    row = conn.execute(
        f"select {_RULE_COLUMNS} from app.rules where tenant_id = %s and name = %s", (tenant_id, name)
    ).fetchone()
    return StoredRule(*row) if row else None


def import_rules(
    conn: psycopg.Connection,
    rules: Sequence[Rule],
    *,
    tenant_id: str,
    source: str | None = None,
    replace: bool = False,
    actor: str = "import",
) -> ImportSummary:
    """Create or update rules by name in one transaction; ``replace`` deletes the tenant's other rules.

    A rule whose definition and enabled state did not change is left untouched (its ``updated_at`` too).
    ``enabled`` left out of a rule keeps the stored state (new rules start enabled).
    """
    summary = ImportSummary()
    with conn.transaction():
        for rule in rules:
            definition = rule.definition()
            row = conn.execute(
                """
                insert into app.rules (tenant_id, name, description, enabled, definition, source)
                values (%(tenant)s, %(name)s, %(description)s, coalesce(%(enabled)s, true), %(definition)s,
                    %(source)s)
                on conflict (tenant_id, name) do update set
                    description = excluded.description,
                    enabled = coalesce(%(enabled)s, app.rules.enabled),
                    definition = excluded.definition,
                    source = excluded.source,
                    updated_at = now()
                where app.rules.definition is distinct from excluded.definition
                   or app.rules.enabled is distinct from coalesce(%(enabled)s, app.rules.enabled)
                   or app.rules.description is distinct from excluded.description
                returning (xmax = 0) as inserted
                """,
                {
                    "tenant": tenant_id,
                    "name": rule.name,
                    "description": rule.description,
                    "enabled": rule.enabled,
                    "definition": Jsonb(definition),
                    "source": source,
                },
            ).fetchone()
            if row is None:
                summary.unchanged.append(rule.name)
            else:
                (summary.created if row[0] else summary.updated).append(rule.name)
        if replace:
            names = [rule.name for rule in rules]
            for stored in list_rules(conn, tenant_id=tenant_id):
                if stored.name not in names:
                    _retire_outputs(conn, stored, tenant_id=tenant_id, by=actor)
                    conn.execute("delete from app.rules where rule_id = %s", (stored.rule_id,))
                    summary.removed.append(stored.name)
    return summary


def import_rules_file(
    conn: psycopg.Connection,
    path: Path | str,
    *,
    tenant_id: str,
    replace: bool = False,
    actor: str = "import",
) -> ImportSummary:
    """Validate a rules file and import it (``RuleFileError`` listing every problem: nothing stored).

    The demo imports the example file this way: ``import_rules_file(conn, EXAMPLE_RULES, tenant_id=...)``.
    """
    rules = load_rules_file(path)
    return import_rules(conn, rules, tenant_id=tenant_id, source=str(path), replace=replace, actor=actor)


def set_enabled(conn: psycopg.Connection, name: str, enabled: bool, *, tenant_id: str, actor: str) -> bool:
    """Enable or disable a rule by name; disabling resolves its live alerts and removes its state labels.
    Returns False if there is no such rule."""
    with conn.transaction():
        stored = get_rule(conn, name, tenant_id=tenant_id)
        if stored is None:
            return False
        conn.execute(
            "update app.rules set enabled = %s, updated_at = now() where rule_id = %s and enabled <> %s",
            (enabled, stored.rule_id, enabled),
        )
        if not enabled:
            _retire_outputs(conn, stored, tenant_id=tenant_id, by=actor)
    return True


def _retire_outputs(conn: psycopg.Connection, stored: StoredRule, *, tenant_id: str, by: str) -> None:
    """A rule that stops being evaluated leaves no live alert and no state label behind."""
    resolve_rule_alerts(
        conn, stored.rule_id, keep=set(), tenant_id=tenant_id, by=by, reason="rule disabled or removed"
    )
    try:
        labels = [
            a.label for a in stored.rule().actions if isinstance(a, ApplyLabel) and a.remove_when_unmatched
        ]
    except RuleFileError:
        labels = []
    if labels:
        conn.execute(
            "delete from app.campaign_labels where tenant_id = %s and applied_by = %s and label = any(%s)",
            (tenant_id, f"rule:{stored.name}", labels),
        )


# --- inputs ---------------------------------------------------------------------------------------

FRAME_COLUMNS = (
    "date_day",
    "platform",
    "account_id",
    "campaign_id",
    "campaign_name",
    "currency",
    "reporting_currency",
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
    "spend_reporting",
    "conversion_value_reporting",
)
CAMPAIGN_COLUMNS = (
    "platform",
    "account_id",
    "campaign_id",
    "campaign_name",
    "status",
    "budget_type",
    "daily_budget",
    "currency",
)


def evaluation_inputs(
    conn: psycopg.Connection, since: date, until: date, *, tenant_id: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The tenant's campaign-day metrics, campaigns (status, daily budget) and account-day signal health."""
    for table in MARTS_NEEDED:
        if conn.execute("select to_regclass(%s)", (table,)).fetchone() == (None,):
            raise MartsMissingError(
                f"{table} does not exist yet: run the daily pipeline (adsignal demo) first"
            )
    frame = mart_frame(
        conn,
        "marts.fct_campaign_performance_daily",
        FRAME_COLUMNS,
        since,
        until,
        numeric=(
            "spend",
            "impressions",
            "clicks",
            "conversions",
            "conversion_value",
            "spend_reporting",
            "conversion_value_reporting",
        ),
        tenant_id=tenant_id,
    )
    cur = conn.execute(
        f"select {', '.join(CAMPAIGN_COLUMNS)} from marts.dim_campaigns where tenant_id = %s", (tenant_id,)
    )
    campaigns = pd.DataFrame(cur.fetchall(), columns=list(CAMPAIGN_COLUMNS))
    campaigns["daily_budget"] = campaigns["daily_budget"].astype(float)
    health_columns = ("date_day", "platform", "account_id", "status")
    health = pd.DataFrame(columns=list(health_columns))
    if conn.execute("select to_regclass('marts.fct_signal_health_daily')").fetchone() != (None,):
        health = mart_frame(
            conn,
            "marts.fct_signal_health_daily",
            health_columns,
            since,
            until,
            parse_days=False,
            tenant_id=tenant_id,
        )
    return frame, campaigns, health


def latest_evaluated_day(
    conn: psycopg.Connection, rule_id: int, *, exclude_run_id: str | None
) -> date | None:
    row = conn.execute(
        "select max(as_of) from app.rule_runs where rule_id = %s and status = 'succeeded'"
        " and run_id is distinct from %s",
        (rule_id, exclude_run_id),
    ).fetchone()
    return row[0] if row else None


def add_campaign_label(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    platform: str,
    account_id: str,
    campaign_id: str | None,
    label: str,
    applied_by: str,
) -> bool:
    """Label a campaign; False when it already carried the label."""
    row = conn.execute(
        """
        insert into app.campaign_labels (tenant_id, platform, account_id, campaign_id, label, applied_by)
        values (%s, %s, %s, %s, %s, %s)
        on conflict (tenant_id, platform, account_id, campaign_id, label) do nothing
        returning applied_at
        """,
        (tenant_id, platform, account_id, campaign_id, label, applied_by),
    ).fetchone()
    return row is not None


def action_queue_status(conn: psycopg.Connection, action_id: int) -> str | None:
    row = conn.execute("select status from app.actions_queue where action_id = %s", (action_id,)).fetchone()
    return row[0] if row else None


def recent_rule_runs(conn: psycopg.Connection, rule_id: int, limit: int) -> list[tuple]:
    """(as_of, evaluated_at, status, entities_evaluated, matched_count, matches, actions, error), newest first."""
    return conn.execute(
        "select as_of, evaluated_at, status, entities_evaluated, matched_count, matches, actions, error"
        " from app.rule_runs where rule_id = %s order by evaluated_at desc limit %s",
        (rule_id, limit),
    ).fetchall()


def alert_producer(rule_id: int) -> str:
    """``app.alerts.detected_by`` of a rule's alerts: the detectors never touch them, nor they theirs."""
    return f"rule:{rule_id}"


def _as_of_moment(as_of: date) -> datetime:
    """The as-of day's end, as the detectors record ``evaluated_as_of`` (the next day's start, UTC)."""
    return datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)


def upsert_rule_alert(
    conn: psycopg.Connection,
    alert: RuleAlert,
    *,
    rule_id: int,
    as_of: date,
    tenant_id: str,
    run_id: str | None,
) -> tuple[int, bool] | None:
    """One live alert per (rule, entity): re-matching refreshes it (an acknowledgement survives).
    Returns (alert_id, opened), or None when an evaluation for a later day already judged it (a backfill)."""
    row = conn.execute(
        f"""
        insert into app.alerts (tenant_id, alert_type, severity, platform, account_id, entity_level, entity_id,
            entity_name, title, message, metric, current_value, threshold, window_start, window_end, evidence,
            signal_health, run_id, status, detected_by, evaluated_as_of)
        select %(tenant)s, %(type)s, %(severity)s, %(platform)s, %(account)s, %(level)s, %(entity)s, %(name)s,
            %(title)s, %(message)s, %(metric)s, %(value)s, %(threshold)s, %(ws)s, %(we)s, %(evidence)s,
            %(health)s, %(run)s, 'open', %(detector)s, %(as_of)s
        {NOT_JUDGED_LATER}
        do update set severity = excluded.severity, title = excluded.title, message = excluded.message,
            entity_name = excluded.entity_name, account_id = excluded.account_id, metric = excluded.metric,
            current_value = excluded.current_value, threshold = excluded.threshold,
            window_start = excluded.window_start, window_end = excluded.window_end,
            evidence = excluded.evidence, signal_health = excluded.signal_health, run_id = excluded.run_id,
            status = case when app.alerts.acknowledged_at is not null then 'acknowledged' else 'open' end,
            suppressed_reason = null,
            {REDETECTION}
        returning alert_id, (xmax = 0) as inserted
        """,
        {
            "tenant": tenant_id,
            "type": alert.alert_type,
            "severity": alert.severity,
            "platform": alert.platform,
            "account": alert.account_id,
            "level": alert.entity_level,
            "entity": alert.entity_id,
            "name": alert.entity_name,
            "title": alert.title,
            "message": alert.message,
            "metric": alert.metric,
            "value": alert.value,
            "threshold": alert.threshold,
            "ws": alert.window_start,
            "we": alert.window_end,
            "evidence": Jsonb(alert.evidence),
            "health": Jsonb(
                {
                    "status": alert.evidence.get("data_health"),
                    "unhealthy_days": alert.evidence.get("unhealthy_days"),
                }
            ),
            "run": run_id,
            "detector": alert_producer(rule_id),
            "as_of": _as_of_moment(as_of),
        },
    ).fetchone()
    return None if row is None else (int(row[0]), bool(row[1]))


def resolve_rule_alerts(
    conn: psycopg.Connection,
    rule_id: int,
    *,
    keep: set[tuple[str, str | None, str, str]],
    tenant_id: str,
    by: str,
    reason: str,
    as_of: date | None = None,
    run_id: str | None = None,
) -> list[tuple[int, str, str | None, str, str, str | None]]:
    """Resolve the rule's live alerts on entities not in ``keep`` (platform, account_id, entity_level, entity_id),
    leaving those an evaluation for a later day than ``as_of`` raised (a backfill does not undo them)."""
    live = conn.execute(
        """
        select alert_id, platform, account_id, entity_level, entity_id, entity_name from app.alerts
        where tenant_id = %s and detected_by = %s and status in ('open', 'acknowledged', 'suppressed')
          and (%s::timestamptz is null or evaluated_as_of is null or evaluated_as_of <= %s::timestamptz)
        """,
        (tenant_id, alert_producer(rule_id), *([_as_of_moment(as_of)] * 2 if as_of else [None, None])),
    ).fetchall()
    stale = [row for row in live if (row[1], row[2], row[3], row[4]) not in keep]
    if stale:
        resolution = {"reason": reason, "as_of": as_of.isoformat() if as_of else None, "run_id": run_id}
        conn.execute(
            "update app.alerts set status = 'resolved', resolved_by = %s, resolved_at = now(), resolution = %s,"
            " evaluated_as_of = coalesce(%s, evaluated_as_of) where alert_id = any(%s)",
            (by, Jsonb(resolution), _as_of_moment(as_of) if as_of else None, [row[0] for row in stale]),
        )
    return stale


def remove_unmatched_labels(
    conn: psycopg.Connection,
    label: str,
    matched: set[tuple[str, str, str | None]],
    *,
    tenant_id: str,
    applied_by: str,
) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "select platform, account_id, campaign_id from app.campaign_labels"
        " where tenant_id = %s and label = %s and applied_by = %s",
        (tenant_id, label, applied_by),
    ).fetchall()
    stale = [row for row in rows if (row[0], row[1], row[2]) not in matched]
    for platform, account_id, campaign_id in stale:
        conn.execute(
            "delete from app.campaign_labels where tenant_id = %s and platform = %s and account_id = %s"
            " and campaign_id = %s and label = %s and applied_by = %s",
            (tenant_id, platform, account_id, campaign_id, label, applied_by),
        )
    return [(str(p), str(a), str(c)) for p, a, c in stale]


def record_rule_run(
    conn: psycopg.Connection,
    stored: StoredRule,
    as_of: date,
    *,
    tenant_id: str,
    run_id: str | None,
    evaluation: RuleEvaluation | None = None,
    entries: Iterable[Mapping[str, Any]] = (),
    error: str | None = None,
) -> int:
    """Write the rule run and the rule's bookkeeping. A retried step of the same run replaces its row
    (and is not counted twice)."""
    replaced = 0
    if run_id is not None:
        replaced = conn.execute(
            "delete from app.rule_runs where rule_id = %s and run_id = %s and as_of = %s",
            (stored.rule_id, run_id, as_of),
        ).rowcount
    entries = list(entries)
    matches = [m.to_json() for m in evaluation.matches] if evaluation else []
    status = "failed" if error else "succeeded"
    row = conn.execute(
        """
        insert into app.rule_runs (tenant_id, rule_id, run_id, as_of, status, entities_evaluated, matched_count,
            matches, actions, error)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        returning rule_run_id, evaluated_at
        """,
        (
            tenant_id,
            stored.rule_id,
            run_id,
            as_of,
            status,
            evaluation.entities_evaluated if evaluation else 0,
            len(matches),
            Jsonb(matches),
            Jsonb(entries),
            error,
        ),
    ).fetchone()
    assert row is not None
    by_status = Counter(f"{e['type']}:{e['status']}" for e in entries)
    last_result = {
        "status": status,
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "rule_run_id": row[0],
        "entities_evaluated": evaluation.entities_evaluated if evaluation else 0,
        "matched": len(matches),
        "actions": dict(sorted(by_status.items())),
        "error": error,
        "notes": list(evaluation.notes) if evaluation else [],
    }
    conn.execute(
        "update app.rules set execution_count = execution_count + %s, last_run_at = %s, last_result = %s"
        " where rule_id = %s",
        (0 if replaced else 1, row[1], Jsonb(last_result), stored.rule_id),
    )
    return int(row[0])
