"""The action queue in ``app.actions_queue``: proposals in, guardrails applied, approvals and executions.

``propose_actions`` is the one way rules, recommendations and allocations queue a change: it gathers each
campaign's context from the marts and the queue, runs the guardrails (``pipeline.analytics.guardrails``)
and queues the proposal as ``proposed`` (awaiting a person) or ``blocked`` (with the reasons in
``guardrails``). Status changes go through this module with the row locked (``select ... for update``),
and each is written to ``app.audit_logs``.

Statuses: proposed → approved → executing → executed | failed (retryable: execute again);
proposed / blocked / approved / failed → rejected; blocked is final for that proposal until it is
proposed again and passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pipeline.analytics.actions import ActionProposal
from pipeline.analytics.guardrails import (
    BUDGET_ACTIONS,
    CampaignState,
    GuardrailContext,
    GuardrailSettings,
    GuardrailVerdict,
    HealthDay,
    RecentAction,
    Stage,
    evaluate,
)
from pipeline.jsonable import jsonable
from pipeline.warehouse.audit import audit

LIVE_STATUSES = ("proposed", "blocked", "approved", "executing", "failed")
# An ``executing`` marker older than this is taken to be a crashed execution: it may be retried (the
# retry reads the platform's state first, so a write that did land is not applied twice).
STALE_EXECUTION = timedelta(minutes=15)


class ActionStateError(RuntimeError):
    """The action is not in a status that allows the requested step (the message says which)."""


# --- context for the guardrails ------------------------------------------------------------------------


def _relation_exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()
    return bool(row and row[0])


def campaign_from_marts(
    conn: psycopg.Connection, platform: str, account_id: str, campaign_id: str, *, tenant_id: str
) -> CampaignState | None:
    if not _relation_exists(conn, "marts.dim_campaigns"):
        return None
    # The action's tenant: another tenant may hold the same campaign ids.
    row = conn.execute(
        """select status, daily_budget, budget_type from marts.dim_campaigns
           where tenant_id = %s and platform = %s and account_id = %s and campaign_id = %s
             and not is_inferred""",
        (tenant_id, platform, account_id, campaign_id),
    ).fetchone()
    if row is None:
        return None
    return CampaignState(
        status=row[0], daily_budget=None if row[1] is None else float(row[1]), budget_type=row[2]
    )


def days_with_spend(
    conn: psycopg.Connection,
    platform: str,
    account_id: str,
    campaign_id: str,
    lookback_days: int,
    *,
    tenant_id: str,
) -> int:
    """Days with spend of the campaign in the ``lookback_days`` up to the account's latest data day."""
    if not _relation_exists(conn, "marts.fct_campaign_performance_daily"):
        return 0
    row = conn.execute(
        """with latest as (
               select max(date_day) as day from marts.fct_campaign_performance_daily
               where tenant_id = %(t)s and platform = %(p)s and account_id = %(a)s)
           select count(distinct date_day) from marts.fct_campaign_performance_daily, latest
           where tenant_id = %(t)s and platform = %(p)s and account_id = %(a)s and campaign_id = %(c)s
             and spend > 0 and date_day > latest.day - %(n)s""",
        {"t": tenant_id, "p": platform, "a": account_id, "c": campaign_id, "n": lookback_days},
    ).fetchone()
    return int(row[0]) if row else 0


def account_health(
    conn: psycopg.Connection, platform: str, account_id: str, days: int, *, tenant_id: str
) -> list[HealthDay]:
    """The account's last ``days`` scored days of ``marts.fct_signal_health_daily``."""
    if not _relation_exists(conn, "marts.fct_signal_health_daily"):
        return []
    rows = conn.execute(
        """select date_day, status, health_score from marts.fct_signal_health_daily
           where tenant_id = %s and platform = %s and account_id = %s order by date_day desc limit %s""",
        (tenant_id, platform, account_id, days),
    ).fetchall()
    return [HealthDay(day, status, None if score is None else float(score)) for day, status, score in rows]


def _budget_of(state: Any) -> float | None:
    if isinstance(state, Mapping) and state.get("daily_budget") is not None:
        return float(state["daily_budget"])
    return None


def recent_actions(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    platform: str,
    account_id: str,
    campaign_id: str,
    now: datetime,
    hours: float,
    exclude_action_id: int | None = None,
) -> list[RecentAction]:
    """The campaign's actions executed (for real) in the last ``hours``, and those approved or executing.
    A campaign is (platform, account, campaign id): ids are unique only within an account."""
    rows = conn.execute(
        """select action_id, action_type, status, executed_at, previous_state, new_state
           from app.actions_queue
           where tenant_id = %s and platform = %s and account_id = %s and campaign_id = %s
             and action_id <> coalesce(%s, -1)
             and (status in ('approved', 'executing')
                  or (status = 'executed' and dry_run is not true and executed_at > %s))
           order by action_id""",
        (tenant_id, platform, account_id, campaign_id, exclude_action_id, now - timedelta(hours=hours)),
    ).fetchall()
    return [
        RecentAction(action_id, action_type, status, executed_at, _budget_of(previous), _budget_of(new))
        for action_id, action_type, status, executed_at, previous, new in rows
    ]


def guardrail_context(
    conn: psycopg.Connection,
    *,
    tenant_id: str,
    platform: str,
    account_id: str,
    campaign_id: str,
    settings: GuardrailSettings,
    now: datetime,
    stage: Stage,
    campaign: CampaignState | None = None,
    exclude_action_id: int | None = None,
) -> GuardrailContext:
    """Everything the guardrails look at; ``campaign`` overrides the marts' view (execution: the platform's)."""
    if campaign is None and stage == "propose":
        campaign = campaign_from_marts(conn, platform, account_id, campaign_id, tenant_id=tenant_id)
    return GuardrailContext(
        now=now,
        campaign=campaign,
        days_with_spend=days_with_spend(
            conn, platform, account_id, campaign_id, settings.data_lookback_days, tenant_id=tenant_id
        ),
        health=account_health(conn, platform, account_id, settings.health_lookback_days, tenant_id=tenant_id),
        recent_actions=recent_actions(
            conn,
            tenant_id=tenant_id,
            platform=platform,
            account_id=account_id,
            campaign_id=campaign_id,
            now=now,
            hours=max(settings.cooldown_hours, 24.0),
            exclude_action_id=exclude_action_id,
        ),
        stage=stage,
    )


def health_summary(context: GuardrailContext) -> dict[str, Any]:
    order = {"healthy": 0, "degraded": 1, "unhealthy": 2}
    worst = max((h.status for h in context.health), key=lambda s: order.get(s, 3), default=None)
    return {
        "status": worst or "unknown",
        "days": {h.date_day.isoformat(): h.status for h in context.health},
        "min_health_score": min(
            (h.health_score for h in context.health if h.health_score is not None), default=None
        ),
    }


# --- proposing -----------------------------------------------------------------------------------------


def _params(proposal: ActionProposal, verdict: GuardrailVerdict) -> dict[str, Any]:
    params = dict(proposal.params)
    if proposal.new_daily_budget is not None:
        params["requested_daily_budget"] = round(proposal.new_daily_budget, 2)
        if verdict.new_daily_budget is not None:
            params["new_daily_budget"] = round(verdict.new_daily_budget, 2)
    return params


def propose_actions(
    conn: psycopg.Connection,
    proposals: Iterable[ActionProposal],
    *,
    tenant_id: str = "default",
    run_id: str | None = None,
    settings: GuardrailSettings | None = None,
    now: datetime | None = None,
    actor: str = "pipeline",
) -> list[int]:
    """Queue proposals after the guardrails (one live row per idempotency key); returns their action ids.

    A proposal that breaks a hard rule is queued ``blocked`` with the reasons in ``guardrails``; a budget
    change larger than allowed is clamped (``params.new_daily_budget`` vs ``requested_daily_budget``).
    Re-proposing the same change refreshes the live row (reason, evidence, and — while it awaits a
    decision — the guardrails and status); an approved, executing or failed row keeps its status.
    """
    settings = settings or GuardrailSettings.from_env()
    now = now or datetime.now(UTC)
    ids: list[int] = []
    with conn.transaction():
        for p in proposals:
            before = conn.execute(
                "select action_id, status from app.actions_queue where tenant_id = %s and idempotency_key = %s"
                " and status = any(%s) for update",
                (tenant_id, p.idempotency_key, list(LIVE_STATUSES)),
            ).fetchone()
            context = guardrail_context(
                conn,
                tenant_id=tenant_id,
                platform=p.platform,
                account_id=p.account_id,
                campaign_id=p.campaign_id,
                settings=settings,
                now=now,
                stage="propose",
                exclude_action_id=None if before is None else before[0],
            )
            verdict = evaluate(p.action_type, p.new_daily_budget, context, settings)
            status = "blocked" if verdict.blocked else "proposed"
            row = conn.execute(
                """
                insert into app.actions_queue (tenant_id, source, source_ref, platform, account_id, campaign_id,
                    campaign_name, action_type, params, reason, evidence, signal_health, guardrails, status,
                    last_error, idempotency_key, run_id)
                values (%(tenant)s, %(source)s, %(ref)s, %(platform)s, %(account)s, %(campaign)s, %(name)s,
                    %(type)s, %(params)s, %(reason)s, %(evidence)s, %(health)s, %(guardrails)s, %(status)s,
                    %(error)s, %(key)s, %(run)s)
                on conflict (tenant_id, idempotency_key)
                    where status in ('proposed', 'blocked', 'approved', 'executing', 'failed')
                do update set reason = excluded.reason, evidence = excluded.evidence, run_id = excluded.run_id,
                    campaign_name = coalesce(excluded.campaign_name, app.actions_queue.campaign_name),
                    -- awaiting a decision: the latest guardrails decide; later statuses keep theirs
                    status = case when app.actions_queue.status in ('proposed', 'blocked')
                                  then excluded.status else app.actions_queue.status end,
                    guardrails = case when app.actions_queue.status in ('proposed', 'blocked')
                                      then excluded.guardrails else app.actions_queue.guardrails end,
                    params = case when app.actions_queue.status in ('proposed', 'blocked')
                                  then excluded.params else app.actions_queue.params end,
                    signal_health = case when app.actions_queue.status in ('proposed', 'blocked')
                                         then excluded.signal_health else app.actions_queue.signal_health end,
                    last_error = case when app.actions_queue.status in ('proposed', 'blocked')
                                      then excluded.last_error else app.actions_queue.last_error end,
                    updated_at = now()
                returning action_id, status""",
                {
                    "tenant": tenant_id,
                    "source": p.source,
                    "ref": p.source_ref,
                    "platform": p.platform,
                    "account": p.account_id,
                    "campaign": p.campaign_id,
                    "name": p.campaign_name,
                    "type": p.action_type,
                    "params": Jsonb(_params(p, verdict)),
                    "reason": p.reason,
                    "evidence": Jsonb(jsonable(dict(p.evidence))),
                    "health": Jsonb(health_summary(context)),
                    "guardrails": Jsonb(verdict.as_json()),
                    "status": status,
                    "error": "; ".join(verdict.reasons) or None,
                    "key": p.idempotency_key,
                    "run": run_id,
                },
            ).fetchone()
            assert row is not None
            action_id, new_status = row
            if before is None or before[1] != new_status:
                audit(
                    conn,
                    tenant_id=tenant_id,
                    actor=actor,
                    event=f"action.{new_status}",
                    object_type="action",
                    object_id=action_id,
                    details={
                        "source_ref": p.source_ref,
                        "action_type": p.action_type,
                        "platform": p.platform,
                        "campaign_id": p.campaign_id,
                        "previous_status": None if before is None else before[1],
                        "reasons": verdict.reasons,
                        "clamped": verdict.clamped,
                        "run_id": run_id,
                    },
                )
            _supersede_older(conn, p, action_id, tenant_id=tenant_id, actor=actor)
            ids.append(action_id)
    return ids


def _supersede_older(
    conn: psycopg.Connection, p: ActionProposal, action_id: int, *, tenant_id: str, actor: str
) -> None:
    """A newer proposal of the same kind from the same source replaces older ones still awaiting a decision.

    (Each daily allocation or rule run has its own source_ref: without this, yesterday's unanswered
    proposals would pile up next to today's.) Their recommendations, if any, expire.
    """
    kinds = sorted(BUDGET_ACTIONS) if p.action_type in BUDGET_ACTIONS else [p.action_type]
    with conn.cursor(row_factory=dict_row) as cur:
        older = cur.execute(
            """update app.actions_queue set status = 'superseded', updated_at = now()
               where tenant_id = %s and platform = %s and account_id = %s and campaign_id = %s and source = %s
                 and action_type = any(%s) and status in ('proposed', 'blocked') and action_id < %s
               returning action_id, tenant_id, source, source_ref""",
            (tenant_id, p.platform, p.account_id, p.campaign_id, p.source, kinds, action_id),
        ).fetchall()
    for row in older:
        audit(
            conn,
            tenant_id=tenant_id,
            actor=actor,
            event="action.superseded",
            object_type="action",
            object_id=row["action_id"],
            details={"superseded_by": action_id},
        )
        sync_recommendation(conn, row, "expired", actor)


# --- reading -------------------------------------------------------------------------------------------

QUEUE_COLUMNS = (
    "action_id, tenant_id, source, source_ref, platform, account_id, campaign_id, campaign_name, action_type,"
    " params, reason, evidence, signal_health, guardrails, status, previous_state, new_state, dry_run, attempts,"
    " last_error, decided_by, decided_at, decision_note, executing_since, executed_at, executed_by, run_id,"
    " created_at, updated_at"
)


def list_actions(
    conn: psycopg.Connection,
    *,
    status: str | None = None,
    tenant_id: str = "default",
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Queued actions, newest first (``status`` filters; None: every status)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"select {QUEUE_COLUMNS} from app.actions_queue"
            " where tenant_id = %s and (%s::text is null or status = %s) order by action_id desc limit %s",
            (tenant_id, status, status, limit),
        ).fetchall()


def proposed_actions(conn: psycopg.Connection, *, tenant_id: str = "default") -> list[dict[str, Any]]:
    """Actions awaiting a person's decision (the demo's "approve one of these")."""
    return list(reversed(list_actions(conn, status="proposed", tenant_id=tenant_id, limit=1000)))


def get_action(conn: psycopg.Connection, action_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"select {QUEUE_COLUMNS} from app.actions_queue where action_id = %s"
            + (" for update" if lock else ""),
            (action_id,),
        ).fetchone()


def action_log(conn: psycopg.Connection, action_id: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "select * from app.ai_actions_log where action_id = %s order by log_id", (action_id,)
        ).fetchall()


# --- decisions -----------------------------------------------------------------------------------------


def recommendation_id(source_ref: str | None) -> int | None:
    """``recommendation:<id>`` → the id (None for other sources or a malformed ref)."""
    if not source_ref or not source_ref.startswith("recommendation:"):
        return None
    tail = source_ref.split(":", 1)[1]
    return int(tail) if tail.isdigit() else None


# A recommendation only moves forward: an executed or rejected one is never reopened or expired.
RECOMMENDATION_PREDECESSORS: dict[str, tuple[str, ...]] = {
    "accepted": ("pending",),
    "rejected": ("pending", "accepted"),
    "executed": ("pending", "accepted"),
    "expired": ("pending",),
}


def sync_recommendation(conn: psycopg.Connection, action: Mapping[str, Any], status: str, actor: str) -> None:
    """Mirror the action's fate on the recommendation it came from (accepted / rejected / executed)."""
    rec_id = recommendation_id(action.get("source_ref")) if action.get("source") == "recommendation" else None
    if rec_id is None or not _relation_exists(conn, "app.ai_recommendations"):
        return
    updated = conn.execute(
        """update app.ai_recommendations set status = %s, status_changed_by = %s, status_changed_at = now()
           where recommendation_id = %s and status = any(%s)""",
        (status, actor, rec_id, list(RECOMMENDATION_PREDECESSORS[status])),
    ).rowcount
    if updated:
        audit(
            conn,
            tenant_id=action["tenant_id"],
            actor=actor,
            event=f"recommendation.{status}",
            object_type="recommendation",
            object_id=rec_id,
            details={"action_id": action["action_id"]},
        )


def decide(
    conn: psycopg.Connection, action_id: int, decision: str, *, actor: str, note: str | None = None
) -> dict[str, Any]:
    """Approve or reject one action (row locked); returns the updated row.

    Only a ``proposed`` action can be approved (a blocked one cannot: its guardrails said no); proposed,
    blocked, approved and failed ones can be rejected. The rules live in ``app.decide_action``
    (migration 0016), so a manager connecting with their own role decides exactly as the pipeline
    does, and the audit row names who connected (``actor`` counts only for the pipeline's role).
    """
    if decision not in ("approve", "reject"):
        raise ValueError(f"decision is approve or reject, not {decision!r}")
    with conn.transaction():
        try:
            conn.execute("select app.decide_action(%s, %s, %s, %s)", (action_id, decision, note, actor))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise PermissionError(exc.diag.message_primary or str(exc)) from None
        except psycopg.Error as exc:
            if exc.sqlstate in ("AS404", "AS409"):
                raise ActionStateError(exc.diag.message_primary or str(exc)) from None
            raise
        updated = get_action(conn, action_id)
    assert updated is not None
    return updated


# --- execution bookkeeping (the executor in pipeline.execution drives these) ----------------------------


def claim_for_execution(
    conn: psycopg.Connection, action_id: int, *, actor: str, now: datetime | None = None
) -> tuple[dict[str, Any], int]:
    """Mark an approved (or failed: retry) action ``executing``; returns the row and its prior attempts.

    The row lock makes the claim exclusive: two executors racing for one action see one of them win
    and the other refused, so a change is never sent twice at once.
    """
    now = now or datetime.now(UTC)
    with conn.transaction():
        action = get_action(conn, action_id, lock=True)
        if action is None:
            raise ActionStateError(f"action {action_id} does not exist")
        status = action["status"]
        stale = (
            status == "executing"
            and action["executing_since"] is not None
            and now - action["executing_since"] > STALE_EXECUTION
        )
        if status not in ("approved", "failed") and not stale:
            if status == "executed":
                raise ActionStateError(
                    f"action {action_id} was already executed at {action['executed_at']:%Y-%m-%d %H:%M} UTC;"
                    " it is never applied twice"
                )
            if status == "executing":
                raise ActionStateError(
                    f"action {action_id} is being executed (since {action['executing_since']:%H:%M:%S} UTC)"
                )
            raise ActionStateError(
                f"action {action_id} is {status}; only approved (or failed, to retry) actions can be executed"
            )
        conn.execute(
            """update app.actions_queue set status = 'executing', attempts = attempts + 1, executing_since = %s,
                   updated_at = now() where action_id = %s""",
            (now, action_id),
        )
        audit(
            conn,
            tenant_id=action["tenant_id"],
            actor=actor,
            event="action.executing",
            object_type="action",
            object_id=action_id,
            details={"previous_status": status, "attempt": action["attempts"] + 1, "stale_marker": stale},
        )
    return action, int(action["attempts"])


def record_attempt(
    conn: psycopg.Connection,
    action: Mapping[str, Any],
    *,
    attempt: int | None,
    dry_run: bool,
    status: str,
    actor: str,
    previous_state: Any = None,
    new_state: Any = None,
    request: Any = None,
    response: Any = None,
    guardrails: Any = None,
    error: str | None = None,
) -> int:
    """One ``app.ai_actions_log`` row (every attempt, dry runs included); returns its log_id."""
    row = conn.execute(
        """insert into app.ai_actions_log (tenant_id, action_id, recommendation_id, attempt, platform, account_id,
               campaign_id, action_type, dry_run, status, previous_state, new_state, request, response, guardrails,
               error, executed_by)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning log_id""",
        (
            action["tenant_id"],
            action["action_id"],
            recommendation_id(action.get("source_ref")) if action.get("source") == "recommendation" else None,
            attempt,
            action["platform"],
            action["account_id"],
            action["campaign_id"],
            action["action_type"],
            dry_run,
            status,
            None if previous_state is None else Jsonb(jsonable(previous_state)),
            None if new_state is None else Jsonb(jsonable(new_state)),
            None if request is None else Jsonb(jsonable(request)),
            None if response is None else Jsonb(jsonable(response)),
            None if guardrails is None else Jsonb(jsonable(guardrails)),
            error,
            actor,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_execution(
    conn: psycopg.Connection,
    action: Mapping[str, Any],
    *,
    status: str,
    actor: str,
    previous_state: Any = None,
    new_state: Any = None,
    guardrails: Any = None,
    error: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Close an execution: executed, failed (retryable) or blocked; audit it and sync the recommendation."""
    if status not in ("executed", "failed", "blocked"):
        raise ValueError(f"an execution ends executed, failed or blocked, not {status!r}")
    ended = conn.execute(
        """update app.actions_queue set status = %s, executing_since = null, last_error = %s,
               previous_state = coalesce(%s, previous_state), new_state = coalesce(%s, new_state),
               guardrails = coalesce(%s, guardrails),
               dry_run = case when %s = 'executed' then false else dry_run end,
               executed_at = case when %s = 'executed' then now() else executed_at end,
               executed_by = case when %s = 'executed' then %s else executed_by end,
               updated_at = now()
           where action_id = %s and status = 'executing'""",
        (
            status,
            error,
            None if previous_state is None else Jsonb(jsonable(previous_state)),
            None if new_state is None else Jsonb(jsonable(new_state)),
            None if guardrails is None else Jsonb(jsonable(guardrails)),
            status,
            status,
            status,
            actor,
            action["action_id"],
        ),
    ).rowcount
    if (
        not ended
    ):  # not (or no longer) executing, e.g. taken over as stale: nothing changed, nothing to record
        return
    audit(
        conn,
        tenant_id=action["tenant_id"],
        actor=actor,
        event=f"action.{status}",
        object_type="action",
        object_id=action["action_id"],
        details={**(details or {}), "error": error},
    )
    if status == "executed":
        sync_recommendation(conn, action, "executed", actor)


def action_status_counts(conn: psycopg.Connection, action_ids: list[int]) -> dict[str, int]:
    """How many of these actions are in each status (a run's proposals after the guardrails)."""
    rows = conn.execute(
        "select status, count(*) from app.actions_queue where action_id = any(%s::bigint[]) group by status",
        (action_ids,),
    ).fetchall()
    return dict(rows)
