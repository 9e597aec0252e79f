"""Evaluate every enabled rule as of a day and carry the planned actions out, one transaction per rule.

Labels and alerts are applied, pause / budget proposals go through ``actions_store.propose_actions``
(never straight to a platform), notifications are queued in the rule run's ``actions`` for the run's
digest. The SQL is in ``pipeline.warehouse.rules_store``; the rules themselves are pure
(``pipeline.analytics.rules``).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg

from pipeline.analytics.rules import Rule, RuleFileError
from pipeline.analytics.rules.evaluate import PlannedAction, RuleEvaluation, evaluate_rule
from pipeline.analytics.rules.models import ApplyLabel
from pipeline.warehouse import rules_store
from pipeline.warehouse.actions_store import propose_actions
from pipeline.warehouse.rules_store import StoredRule

log = logging.getLogger(__name__)


@dataclass
class EvaluationSummary:
    as_of: date
    rules_evaluated: int = 0
    rules_failed: list[str] = field(default_factory=list)
    matches: int = 0
    matches_by_rule: dict[str, int] = field(default_factory=dict)
    actions: Counter[str] = field(default_factory=Counter)  # "<type>" -> count
    action_statuses: Counter[str] = field(default_factory=Counter)  # "<type>:<status>" -> count
    alerts_resolved: int = 0
    rule_run_ids: list[int] = field(default_factory=list)


def evaluate_rules(
    conn: psycopg.Connection,
    as_of: date,
    *,
    tenant_id: str,
    run_id: str | None,
    reporting_currency: str | None = None,
) -> EvaluationSummary:
    """Evaluate every enabled rule as of ``as_of`` and record one ``app.rule_runs`` row per rule.

    A rule that fails (a stored definition that no longer validates, an action that errors) is recorded
    as failed with the error; the other rules still run.
    """
    summary = EvaluationSummary(as_of=as_of)
    stored_rules = rules_store.list_rules(conn, tenant_id=tenant_id, enabled_only=True)
    if not stored_rules:
        conn.commit()
        return summary
    parsed: dict[int, Rule | RuleFileError] = {}
    for stored in stored_rules:
        try:
            parsed[stored.rule_id] = stored.rule()
        except RuleFileError as exc:
            parsed[stored.rule_id] = exc
    lookback = max((r.lookback_days for r in parsed.values() if isinstance(r, Rule)), default=1)
    frame, campaigns, health = rules_store.evaluation_inputs(
        conn, as_of - timedelta(days=lookback - 1), as_of, tenant_id=tenant_id
    )
    conn.commit()  # the reads' transaction; each rule then commits on its own

    for stored in stored_rules:
        rule = parsed[stored.rule_id]
        with conn.transaction():
            try:
                if isinstance(rule, RuleFileError):
                    raise rule
                with conn.transaction():  # a savepoint: a failure leaves nothing half-written
                    evaluation = evaluate_rule(
                        rule,
                        frame,
                        as_of,
                        rule_id=stored.rule_id,
                        campaigns=campaigns,
                        health=health,
                        reporting_currency=reporting_currency,
                    )
                    entries, resolved = _carry_out(
                        conn, stored, rule, evaluation, tenant_id=tenant_id, run_id=run_id
                    )
                    run_row = rules_store.record_rule_run(
                        conn,
                        stored,
                        as_of,
                        tenant_id=tenant_id,
                        run_id=run_id,
                        evaluation=evaluation,
                        entries=entries,
                    )
            except Exception as exc:  # recorded on the rule; the others still run
                log.error("rule %r failed: %s", stored.name, exc)
                run_row = rules_store.record_rule_run(
                    conn,
                    stored,
                    as_of,
                    tenant_id=tenant_id,
                    run_id=run_id,
                    error=f"{type(exc).__name__}: {exc}",
                )
                summary.rules_failed.append(stored.name)
                summary.rules_evaluated += 1
                summary.rule_run_ids.append(run_row)
                continue
        summary.rules_evaluated += 1
        summary.rule_run_ids.append(run_row)
        summary.matches += len(evaluation.matches)
        summary.matches_by_rule[stored.name] = len(evaluation.matches)
        summary.alerts_resolved += resolved
        for entry in entries:
            summary.actions[entry["type"]] += 1
            summary.action_statuses[f"{entry['type']}:{entry['status']}"] += 1
    return summary


def _entity(action: PlannedAction) -> dict[str, Any]:
    m = action.match
    return {
        "platform": m.platform,
        "account_id": m.account_id,
        "campaign_id": m.campaign_id,
        "campaign_name": m.campaign_name,
    }


def _carry_out(
    conn: psycopg.Connection,
    stored: StoredRule,
    rule: Rule,
    evaluation: RuleEvaluation,
    *,
    tenant_id: str,
    run_id: str | None,
) -> tuple[list[dict[str, Any]], int]:
    """Apply labels and alerts, queue proposals, list notifications; returns the action entries and the
    number of this rule's alerts resolved because their entity no longer matches.

    An evaluation for a day before the latest one evaluated (a backfill) records its matches but carries
    nothing out: labels, alerts, proposals and notices follow the latest day.
    """
    latest = rules_store.latest_evaluated_day(conn, stored.rule_id, exclude_run_id=run_id)
    if latest is not None and latest > evaluation.as_of:
        reason = f"not carried out: the rule was already evaluated for a later day ({latest.isoformat()})"
        return [
            {"type": a.type, "status": "skipped", "detail": reason, **_entity(a)} for a in evaluation.actions
        ], 0
    entries: list[dict[str, Any]] = []
    applied_by = f"rule:{stored.name}"
    for action in evaluation.actions:
        entry: dict[str, Any] = {
            "type": action.type,
            "status": action.status,
            "detail": action.detail,
            **_entity(action),
        }
        if action.status == "queued":
            entry = {
                "type": action.type,
                "status": "queued",
                "message": action.message,
                "target": action.target,
                **_entity(action),
            }
        elif action.status == "planned":
            try:
                with conn.transaction():
                    entry.update(
                        _apply(
                            conn,
                            action,
                            rule_id=stored.rule_id,
                            tenant_id=tenant_id,
                            run_id=run_id,
                            applied_by=applied_by,
                        )
                    )
            except Exception as exc:  # this action failed; the rule's other actions stand
                log.error("rule %r: %s on %s failed: %s", stored.name, action.type, action.match.label, exc)
                entry.update(status="failed", detail=f"{type(exc).__name__}: {exc}")
        entries.append(entry)

    matched_campaigns = {(m.platform, m.account_id, m.campaign_id) for m in evaluation.matches}
    for label_action in {
        a.label for a in rule.actions if isinstance(a, ApplyLabel) and a.remove_when_unmatched
    }:
        removed = rules_store.remove_unmatched_labels(
            conn, label_action, matched_campaigns, tenant_id=tenant_id, applied_by=applied_by
        )
        for platform, account_id, campaign_id in removed:
            entries.append(
                {
                    "type": "apply_label",
                    "status": "applied",
                    "detail": f"label '{label_action}' removed: the rule no longer matches",
                    "platform": platform,
                    "account_id": account_id,
                    "campaign_id": campaign_id,
                    "campaign_name": None,
                }
            )
    alerted = {
        (a.alert.platform, a.alert.account_id, a.alert.entity_level, a.alert.entity_id)
        for a in evaluation.actions
        if a.alert
    }
    resolved = rules_store.resolve_rule_alerts(
        conn,
        stored.rule_id,
        keep=alerted,
        tenant_id=tenant_id,
        by=applied_by,
        reason="the rule no longer matches",
        as_of=evaluation.as_of,
        run_id=run_id,
    )
    for alert_id, platform, account_id, level, entity_id, name in resolved:
        entries.append(
            {
                "type": "send_alert",
                "status": "applied",
                "detail": f"alert {alert_id} resolved: the rule no longer matches",
                "alert_id": alert_id,
                "platform": platform,
                "account_id": account_id,
                "campaign_id": entity_id if level == "campaign" else None,
                "campaign_name": name,
            }
        )
    return entries, len(resolved)


def _apply(
    conn: psycopg.Connection,
    action: PlannedAction,
    *,
    rule_id: int,
    tenant_id: str,
    run_id: str | None,
    applied_by: str,
) -> dict[str, Any]:
    match = action.match
    if action.type == "apply_label":
        added = rules_store.add_campaign_label(
            conn,
            tenant_id=tenant_id,
            platform=match.platform,
            account_id=match.account_id,
            campaign_id=match.campaign_id,
            label=action.label,
            applied_by=applied_by,
        )
        return {
            "status": "applied",
            "detail": f"label '{action.label}'" + ("" if added else " (already there)"),
        }
    if action.type == "send_alert":
        assert action.alert is not None
        upserted = rules_store.upsert_rule_alert(
            conn,
            action.alert,
            rule_id=rule_id,
            as_of=action.match.window_end,
            tenant_id=tenant_id,
            run_id=run_id,
        )
        if upserted is None:
            return {"status": "skipped", "detail": "an evaluation for a later day already judged this alert"}
        alert_id, opened = upserted
        verb = "opened" if opened else "updated"
        return {
            "status": "applied",
            "detail": f"{action.alert.severity} alert {alert_id} {verb}",
            "alert_id": alert_id,
        }
    if action.type in ("pause_campaign", "adjust_budget"):
        assert action.proposal is not None
        [action_id] = propose_actions(conn, [action.proposal], tenant_id=tenant_id, run_id=run_id)
        return {
            "status": "proposed",
            "detail": action.detail,
            "action_id": action_id,
            "queue_status": rules_store.action_queue_status(conn, action_id),
        }
    raise ValueError(f"nothing to apply for {action.type}")
