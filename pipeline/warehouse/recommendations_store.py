"""Reads and writes of AI recommendations: their inputs, ``app.ai_recommendations`` and ``app.llm_calls``.

Inputs are read from the marts and from the other decision tables by their column names only
(``app.alerts``, ``app.budget_allocations`` / ``app.budget_allocation_lines``, ``app.rules`` /
``app.rule_runs``); any of them may be empty. Writes keep one pending recommendation per entity: a re-run
refreshes the pending one when it says the same thing, or expires it (and its still-queued action) and
records the new one. The action queue moves a recommendation to accepted / rejected / executed as its
action is decided and executed (``actions_store.sync_recommendation``, via ``source_ref``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pipeline.analytics.actions import ActionProposal
from pipeline.analytics.recommender import Recommendation
from pipeline.warehouse.actions_store import propose_actions
from pipeline.warehouse.marts_store import campaign_budgets_frame, campaign_daily_frame, signal_health_frame

# Context windows: 28 days of metrics, 7 of signal health.
METRIC_DAYS = 28
HEALTH_DAYS = 7
SYSTEM_ACTOR = "adsignal"


@dataclass(frozen=True)
class RecommendationInputs:
    """Everything the context is built from, as of one day."""

    as_of: date
    campaign_daily: pd.DataFrame
    campaigns: pd.DataFrame
    health: pd.DataFrame
    alerts: list[dict[str, Any]]
    allocation_lines: list[dict[str, Any]]
    rule_matches: list[dict[str, Any]]
    allocation_id: int | None = None


def live_alerts(conn: psycopg.Connection, as_of: date, tenant_id: str) -> list[dict[str, Any]]:
    """Open and acknowledged alerts known as of ``as_of`` (held ones are about data that cannot be trusted)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            select alert_id, alert_type, severity, status, platform, account_id, entity_level, entity_id,
                entity_name, metric, current_value, baseline_value, threshold, window_start, window_end, evidence
            from app.alerts
            where tenant_id = %s and status in ('open', 'acknowledged') and suppressed_reason is null
                and (window_end is null or window_end <= %s)
            order by alert_id""",
            (tenant_id, as_of),
        ).fetchall()


def latest_allocation_lines(
    conn: psycopg.Connection, as_of: date, tenant_id: str
) -> tuple[int | None, list[dict[str, Any]]]:
    """The lines of the newest allocation whose period starts no later than the day after ``as_of``."""
    row = conn.execute(
        """
        select allocation_id from app.budget_allocations
        where tenant_id = %s and period_start <= %s
        order by created_at desc, allocation_id desc limit 1""",
        (tenant_id, as_of + timedelta(days=1)),
    ).fetchone()
    if row is None:
        return None, []
    with conn.cursor(row_factory=dict_row) as cur:
        lines = cur.execute(
            """
            select allocation_id, platform, account_id, campaign_id, campaign_name, currency, current_daily_spend,
                recommended_daily_budget, min_daily_budget, max_daily_budget, expected_value, current_value,
                fit_quality, treatment, binding
            from app.budget_allocation_lines where allocation_id = %s
            order by platform, account_id, campaign_id""",
            (row[0],),
        ).fetchall()
    return int(row[0]), lines


def latest_rule_matches(conn: psycopg.Connection, as_of: date, tenant_id: str) -> list[dict[str, Any]]:
    """Campaigns each enabled rule matched in its latest successful run around ``as_of``."""
    with conn.cursor(row_factory=dict_row) as cur:
        runs = cur.execute(
            """
            select distinct on (runs.rule_id) runs.rule_run_id, runs.rule_id, rules.name as rule_name, runs.matches
            from app.rule_runs as runs
            join app.rules as rules on rules.rule_id = runs.rule_id
            where runs.tenant_id = %s and rules.enabled and runs.status = 'succeeded'
                and runs.as_of between %s and %s
            order by runs.rule_id, runs.as_of desc, runs.evaluated_at desc""",
            (tenant_id, as_of - timedelta(days=1), as_of + timedelta(days=1)),
        ).fetchall()
    matches: list[dict[str, Any]] = []
    for run in runs:
        for match in run["matches"] or []:
            # The rules area owns the shape of a match; a campaign match names its ids, others are skipped.
            if isinstance(match, Mapping) and all(
                match.get(k) for k in ("platform", "account_id", "campaign_id")
            ):
                matches.append(
                    {
                        "rule_run_id": run["rule_run_id"],
                        "rule_id": run["rule_id"],
                        "rule_name": run["rule_name"],
                        "platform": str(match["platform"]),
                        "account_id": str(match["account_id"]),
                        "campaign_id": str(match["campaign_id"]),
                        "match": dict(match),
                    }
                )
    return matches


def load_inputs(conn: psycopg.Connection, as_of: date, *, tenant_id: str) -> RecommendationInputs:
    allocation_id, lines = latest_allocation_lines(conn, as_of, tenant_id)
    return RecommendationInputs(
        as_of=as_of,
        campaign_daily=campaign_daily_frame(
            conn, as_of - timedelta(days=METRIC_DAYS - 1), as_of, tenant_id=tenant_id
        ),
        campaigns=campaign_budgets_frame(conn, tenant_id=tenant_id),
        health=signal_health_frame(conn, as_of - timedelta(days=HEALTH_DAYS - 1), as_of, tenant_id=tenant_id),
        alerts=live_alerts(conn, as_of, tenant_id),
        allocation_lines=lines,
        rule_matches=latest_rule_matches(conn, as_of, tenant_id),
        allocation_id=allocation_id,
    )


# --- model calls ---------------------------------------------------------------------------------


def record_llm_call(
    conn: psycopg.Connection,
    call: Any,
    *,
    tenant_id: str,
    run_id: str | None,
    as_of: date | None,
    recommendations_count: int | None = None,
) -> int:
    """Keep one model call (a ``pipeline.llm.recommendations.LLMCallRecord``); returns its call_id."""
    row = conn.execute(
        """
        insert into app.llm_calls (tenant_id, run_id, provider, model, purpose, as_of, started_at, latency_ms,
            input_tokens, output_tokens, status, http_status, error, validation_errors, request_id, message_id,
            stop_reason, recommendations_count)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        returning call_id""",
        (
            tenant_id,
            run_id,
            call.provider,
            call.model,
            call.purpose,
            as_of,
            call.started_at,
            call.latency_ms,
            call.input_tokens,
            call.output_tokens,
            call.status,
            call.http_status,
            call.error,
            Jsonb(list(call.validation_errors)) if call.validation_errors else None,
            call.request_id,
            call.message_id,
            call.stop_reason,
            recommendations_count,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


# --- recommendations ------------------------------------------------------------------------------


@dataclass
class StoreResult:
    inserted: list[int] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    action_ids: list[int] = field(default_factory=list)
    linked: list[int] = field(default_factory=list)  # actions another source had queued already
    synced: int = 0  # recommendations moved along with their action's decision
    skipped_reason: str | None = None


def _entity_key(row: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (row["entity_level"], row["platform"], row["account_id"] or "", row["entity_id"])


def _same_change(row: Mapping[str, Any], rec: Recommendation) -> bool:
    old_budget = (row["proposed_change"] or {}).get("new_daily_budget")
    new_budget = None if rec.new_daily_budget is None else round(rec.new_daily_budget, 2)
    return bool(row["action"] == rec.action and old_budget == new_budget)


def _supersede_queued_action(
    conn: psycopg.Connection, recommendation_id: int, action_id: int | None, note: str
) -> None:
    """A superseded recommendation's own action must not stay up for approval (only if nobody decided yet).

    Only an action this recommendation proposed: one it was linked to (queued by the allocation or a rule)
    belongs to its source.
    """
    if action_id is None:
        return
    conn.execute(
        """
        update app.actions_queue set status = 'superseded', decision_note = %s, updated_at = now()
        where action_id = %s and status in ('proposed', 'blocked') and source = 'recommendation'
            and source_ref = %s""",
        (note, action_id, f"recommendation:{recommendation_id}"),
    )


LIVE_ACTION_STATUSES = ("proposed", "blocked", "approved", "executing")


def _queued_elsewhere(conn: psycopg.Connection, rec: Recommendation, tenant_id: str) -> int | None:
    """A live action of the same type on the same campaign from another source (allocation, rule, person).

    The recommendation is linked to it instead of queueing the same change twice.
    """
    row = conn.execute(
        """
        select action_id from app.actions_queue
        where tenant_id = %s and platform = %s and account_id = %s and campaign_id = %s and action_type = %s
            and status = any(%s) and source <> 'recommendation'
        order by action_id desc limit 1""",
        (tenant_id, rec.platform, rec.account_id, rec.campaign_id, rec.action, list(LIVE_ACTION_STATUSES)),
    ).fetchone()
    return None if row is None else int(row[0])


def _expire(conn: psycopg.Connection, row: Mapping[str, Any], reason: str) -> None:
    conn.execute(
        """
        update app.ai_recommendations set status = 'expired', status_reason = %s, status_changed_by = %s,
            status_changed_at = now(), updated_at = now()
        where recommendation_id = %s and status = 'pending'""",
        (reason, SYSTEM_ACTOR, row["recommendation_id"]),
    )
    _supersede_queued_action(
        conn,
        row["recommendation_id"],
        row["action_id"],
        f"recommendation {row['recommendation_id']} {reason}",
    )


def _values(
    rec: Recommendation,
    *,
    produced_by: str,
    model: str | None,
    fallback_reason: str | None,
    llm_call_id: int | None,
    run_id: str | None,
    as_of: date,
) -> dict[str, Any]:
    return {
        "produced_by": produced_by,
        "fallback_reason": fallback_reason,
        "model": model,
        "llm_call_id": llm_call_id,
        "run_id": run_id,
        "as_of": as_of,
        "platform": rec.platform,
        "account_id": rec.account_id,
        "campaign_id": rec.campaign_id,
        "entity_level": rec.entity_level,
        "entity_id": rec.entity_id,
        "entity_name": rec.entity_name,
        "action": rec.action,
        "title": rec.title,
        "rationale": rec.rationale,
        "confidence": rec.confidence,
        "citations": Jsonb([c.as_json() for c in rec.citations]),
        "proposed_change": Jsonb(rec.proposed_change) if rec.proposed_change else None,
        "expected_impact": Jsonb(rec.expected_impact) if rec.expected_impact else None,
    }


def store_recommendations(
    conn: psycopg.Connection,
    recommendations: Sequence[Recommendation],
    *,
    produced_by: Literal["claude", "fallback"],
    model: str | None,
    fallback_reason: str | None,
    llm_call_id: int | None,
    tenant_id: str,
    run_id: str | None,
    as_of: date,
) -> StoreResult:
    """Make the pending recommendations those of this run (in one transaction) and queue their changes.

    Per entity: the same action and budget as the pending one → refreshed in place (same id, same queued
    action); a different one → the pending one expires (its undecided action is superseded) and the new one
    is inserted; pending ones this run no longer makes expire. A run as of an earlier day than recommendations
    already stored changes nothing.
    """
    result = StoreResult()
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('app.ai_recommendations:' || %s))", (tenant_id,))
        later = conn.execute(
            "select max(as_of) from app.ai_recommendations where tenant_id = %s and as_of > %s",
            (tenant_id, as_of),
        ).fetchone()
        if later and later[0] is not None:
            result.skipped_reason = (
                f"recommendations as of {later[0]} already exist; a run as of {as_of} keeps them"
            )
            return result
        # Decided ones are no longer pending: they are neither refreshed nor expired below.
        result.synced = sync_statuses_from_queue(conn, tenant_id=tenant_id)
        with conn.cursor(row_factory=dict_row) as cur:
            pending = cur.execute(
                """
                select recommendation_id, entity_level, platform, account_id, entity_id, action, proposed_change,
                    action_id
                from app.ai_recommendations where tenant_id = %s and status = 'pending' for update""",
                (tenant_id,),
            ).fetchall()
        pending_by_entity = {_entity_key(row): row for row in pending}
        new_keys = {rec.entity_key for rec in recommendations}
        for key, row in pending_by_entity.items():
            if key not in new_keys:
                _expire(conn, row, f"no longer recommended as of {as_of}")
                result.expired.append(row["recommendation_id"])

        to_queue: list[tuple[int, Recommendation]] = []
        common = {
            "produced_by": produced_by,
            "model": model,
            "fallback_reason": fallback_reason,
            "llm_call_id": llm_call_id,
            "run_id": run_id,
            "as_of": as_of,
        }
        for rec in recommendations:
            values = _values(rec, **common)
            old = pending_by_entity.get(rec.entity_key)
            if old is not None and _same_change(old, rec):
                conn.execute(
                    """
                    update app.ai_recommendations set produced_by = %(produced_by)s,
                        fallback_reason = %(fallback_reason)s, model = %(model)s, llm_call_id = %(llm_call_id)s,
                        run_id = %(run_id)s, as_of = %(as_of)s, entity_name = %(entity_name)s, title = %(title)s,
                        rationale = %(rationale)s, confidence = %(confidence)s, citations = %(citations)s,
                        proposed_change = %(proposed_change)s, expected_impact = %(expected_impact)s,
                        updated_at = now()
                    where recommendation_id = %(id)s""",
                    {**values, "id": old["recommendation_id"]},
                )
                result.refreshed.append(old["recommendation_id"])
                recommendation_id = int(old["recommendation_id"])
            else:
                if old is not None:
                    _expire(conn, old, f"superseded as of {as_of}")
                    result.expired.append(old["recommendation_id"])
                row = conn.execute(
                    """
                    insert into app.ai_recommendations (tenant_id, produced_by, fallback_reason, model, llm_call_id,
                        run_id, as_of, platform, account_id, campaign_id, entity_level, entity_id, entity_name,
                        action, title, rationale, confidence, citations, proposed_change, expected_impact)
                    values (%(tenant_id)s, %(produced_by)s, %(fallback_reason)s, %(model)s, %(llm_call_id)s,
                        %(run_id)s, %(as_of)s, %(platform)s, %(account_id)s, %(campaign_id)s, %(entity_level)s,
                        %(entity_id)s, %(entity_name)s, %(action)s, %(title)s, %(rationale)s, %(confidence)s,
                        %(citations)s, %(proposed_change)s, %(expected_impact)s)
                    returning recommendation_id""",
                    {**values, "tenant_id": tenant_id},
                ).fetchone()
                assert row is not None
                recommendation_id = int(row[0])
                result.inserted.append(recommendation_id)
            if rec.changes_campaign:
                linked = _queued_elsewhere(conn, rec, tenant_id)
                if linked is None:
                    to_queue.append((recommendation_id, rec))
                else:
                    conn.execute(
                        "update app.ai_recommendations set action_id = %s where recommendation_id = %s",
                        (linked, recommendation_id),
                    )
                    result.linked.append(linked)

        if to_queue:
            proposals = [
                _proposal(recommendation_id, rec, produced_by) for recommendation_id, rec in to_queue
            ]
            action_ids = propose_actions(conn, proposals, tenant_id=tenant_id, run_id=run_id)
            for (recommendation_id, _), action_id in zip(to_queue, action_ids, strict=True):
                conn.execute(
                    "update app.ai_recommendations set action_id = %s where recommendation_id = %s",
                    (action_id, recommendation_id),
                )
            result.action_ids = list(action_ids)
    return result


def _proposal(recommendation_id: int, rec: Recommendation, produced_by: str) -> ActionProposal:
    assert rec.campaign_id is not None and rec.account_id is not None
    return ActionProposal(
        action_type=rec.action,  # type: ignore[arg-type]
        source="recommendation",
        source_ref=f"recommendation:{recommendation_id}",
        platform=rec.platform,
        account_id=rec.account_id,
        campaign_id=rec.campaign_id,
        reason=rec.title,
        new_daily_budget=rec.new_daily_budget,
        campaign_name=rec.entity_name,
        evidence={
            "recommendation_id": recommendation_id,
            "produced_by": produced_by,
            "confidence": rec.confidence,
            "rationale": rec.rationale,
            "citations": [c.as_json() for c in rec.citations],
            "current_daily_budget": rec.current_daily_budget,
        },
    )


# --- following the queue ------------------------------------------------------------------------------


def sync_statuses_from_queue(conn: psycopg.Connection, *, tenant_id: str) -> int:
    """Move recommendations along with their action: approved → accepted, rejected, executed.

    The action queue does this for the actions a recommendation proposed; this also covers those linked
    to an action another source queued, and catches up on any decision made while no run was looking.
    """
    return conn.execute(
        """
        update app.ai_recommendations as rec
        set status = case queue.status when 'approved' then 'accepted' when 'executing' then 'accepted'
                                       else queue.status end,
            status_changed_by = coalesce(queue.decided_by, %s),
            status_changed_at = coalesce(queue.executed_at, queue.decided_at, now()),
            status_reason = 'action ' || queue.action_id || ' ' || queue.status,
            updated_at = now()
        from app.actions_queue as queue
        where queue.action_id = rec.action_id and rec.tenant_id = %s
            and (
                (rec.status = 'pending' and queue.status in ('approved', 'executing', 'rejected', 'executed'))
                or (rec.status = 'accepted' and queue.status in ('rejected', 'executed'))
            )""",
        (SYSTEM_ACTOR, tenant_id),
    ).rowcount


# --- measured effect -----------------------------------------------------------------------------


def executed_awaiting_results(
    conn: psycopg.Connection, *, tenant_id: str, executed_before: date
) -> list[dict[str, Any]]:
    """Executed campaign recommendations without a measured effect, executed before ``executed_before``."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            select rec.recommendation_id, rec.platform, rec.account_id, rec.campaign_id,
                coalesce(queue.executed_at, rec.status_changed_at) as executed_at
            from app.ai_recommendations as rec
            left join app.actions_queue as queue on queue.action_id = rec.action_id
            where rec.tenant_id = %s and rec.status = 'executed' and rec.result_metrics is null
                and rec.entity_level = 'campaign'
                and coalesce(queue.executed_at, rec.status_changed_at)::date < %s
            order by rec.recommendation_id""",
            (tenant_id, executed_before),
        ).fetchall()


def save_result_metrics(conn: psycopg.Connection, recommendation_id: int, metrics: Mapping[str, Any]) -> None:
    conn.execute(
        """
        update app.ai_recommendations set result_metrics = %s, result_measured_at = now(), updated_at = now()
        where recommendation_id = %s and result_metrics is null""",
        (Jsonb(dict(metrics)), recommendation_id),
    )


# --- reading back ---------------------------------------------------------------------------------


def list_recommendations(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    statuses: Iterable[str] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    wanted = list(statuses) if statuses else None
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            select rec.recommendation_id, rec.as_of, rec.status, rec.produced_by, rec.action, rec.platform,
                rec.account_id, rec.entity_level, rec.entity_id, rec.entity_name, rec.title, rec.confidence,
                rec.action_id, queue.status as action_status, rec.created_at
            from app.ai_recommendations as rec
            left join app.actions_queue as queue on queue.action_id = rec.action_id
            where rec.tenant_id = %s and (%s::text[] is null or rec.status = any(%s::text[]))
            order by rec.created_at desc, rec.recommendation_id desc
            limit %s""",
            (tenant_id, wanted, wanted, limit),
        ).fetchall()


def get_recommendation(
    conn: psycopg.Connection, recommendation_id: int, *, tenant_id: str
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            select rec.*, queue.status as action_status, queue.guardrails as action_guardrails,
                call.status as llm_status, call.model as llm_model, call.latency_ms as llm_latency_ms,
                call.input_tokens as llm_input_tokens, call.output_tokens as llm_output_tokens,
                call.validation_errors as llm_validation_errors
            from app.ai_recommendations as rec
            left join app.actions_queue as queue on queue.action_id = rec.action_id
            left join app.llm_calls as call on call.call_id = rec.llm_call_id
            where rec.tenant_id = %s and rec.recommendation_id = %s""",
            (tenant_id, recommendation_id),
        ).fetchone()


def as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def pending_recommendation_count(conn: psycopg.Connection, tenant_id: str) -> int:
    return conn.execute(
        "select count(*) from app.ai_recommendations where tenant_id = %s and status = 'pending'",
        (tenant_id,),
    ).fetchone()[0]
