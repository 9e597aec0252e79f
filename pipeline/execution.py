"""Carry out one approved action on its platform: guardrails again, then the connector's write.

``execute_action(url, action_id, apply=False)``:

1. **dry run** (default; any action not yet executed, rejected or superseded): read the campaign's
   current state from the platform, run the guardrails on it, and log (``app.ai_actions_log``,
   ``dry_run = true``) the previous state and the state the write *would* set, and the call it would make.
   Nothing is written to the platform and the action's status does not change.
2. **apply** (``apply=True`` / ``--apply`` / ``ADSIGNAL_ACTIONS_APPLY=1``; approved actions, or failed ones
   to retry): the row is locked and marked ``executing`` (so no second executor can start it), then,
   without holding the lock during HTTP calls:

   - read the campaign's current state on the platform;
   - if an earlier attempt of this action already failed and the campaign is already in the target
     state, that attempt's write landed (its answer was lost): record ``executed`` without writing again;
   - run the guardrails against the platform's state (it may have changed since the proposal): a
     violation ends the action ``blocked``;
   - call the connector's ``update_campaign`` with the arguments its ``update_arguments`` builds (each
     platform's money units stay in its connector), read the campaign back and record previous and
     new state; a platform that does not declare campaign writes (``pipeline.platforms``) fails here;
   - any failure ends the action ``failed`` with ``last_error`` (retry by executing again).

Every attempt is one ``app.ai_actions_log`` row; every status change one ``app.audit_logs`` row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from pipeline.analytics.guardrails import BUDGET_ACTIONS, CampaignState, GuardrailSettings, evaluate
from pipeline.connections import open_connector, resolve_connections
from pipeline.connectors.base import CampaignWriter
from pipeline.connectors.http import redact_text
from pipeline.platforms import Capability, platform_spec
from pipeline.warehouse import actions_store as store
from pipeline.warehouse.audit import audit

APPLY_ENV = "ADSIGNAL_ACTIONS_APPLY"
TARGET_STATUS = {"PAUSE": "PAUSED", "RESUME": "ACTIVE"}


def apply_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """``ADSIGNAL_ACTIONS_APPLY=1`` makes executions write by default (the CLI's ``--apply``)."""
    value = (os.environ if environ is None else environ).get(APPLY_ENV, "")
    return value.strip().lower() in ("1", "true", "yes")


@dataclass
class ExecutionResult:
    """What one ``execute_action`` call did (``outcome``: dry_run, executed, already_applied, blocked, failed)."""

    action_id: int
    outcome: str
    dry_run: bool
    status: str  # the action's status afterwards
    previous_state: dict[str, Any] | None = None
    new_state: dict[str, Any] | None = None
    request: dict[str, Any] | None = None
    error: str | None = None
    reasons: list[str] = field(default_factory=list)
    log_id: int | None = None


def _state(raw: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("status", "platform_status", "daily_budget", "budget_type", "currency")
    return {k: raw.get(k) for k in keys}


def _target(action: Mapping[str, Any], current: Mapping[str, Any], budget: float | None) -> dict[str, Any]:
    target = dict(current)
    if action["action_type"] in TARGET_STATUS:
        target["status"] = TARGET_STATUS[action["action_type"]]
        target["platform_status"] = None
    else:
        target["daily_budget"] = budget
    return target


def _reached(action: Mapping[str, Any], state: Mapping[str, Any], budget: float | None) -> bool:
    if action["action_type"] in TARGET_STATUS:
        return state.get("status") == TARGET_STATUS[action["action_type"]]
    return (
        budget is not None
        and state.get("daily_budget") is not None
        and (round(float(state["daily_budget"]), 2) == round(float(budget), 2))
    )


def _write_call(
    connector: CampaignWriter, action: Mapping[str, Any], current: Mapping[str, Any], budget: float | None
) -> dict[str, Any]:
    """The ``update_campaign`` keyword arguments for this action, in its platform's own units."""
    status = TARGET_STATUS.get(action["action_type"])
    if status is None:
        assert budget is not None
    return connector.update_arguments(
        account_id=action["account_id"],
        status=status,
        daily_budget=None if status is not None else budget,
        currency=str(current.get("currency") or ""),
    )


def _summary(answer: Any) -> Any:
    """A bounded, JSON-able, redacted summary of a platform's answer (what is stored is what was redacted)."""
    text = redact_text(json.dumps(answer, default=str))
    if isinstance(answer, dict) and len(text) <= 4000:
        return json.loads(text)
    return {"answer": text[:4000]}


def _changed_since_a_write(log: list[dict[str, Any]], current: Mapping[str, Any]) -> bool:
    """An earlier attempt sent a write and the platform no longer shows the state it read before it: that
    write (possibly of a budget clamped at execution) landed, so writing again could apply the change twice."""
    keys = ("status", "daily_budget")
    return any(
        {k: row["previous_state"].get(k) for k in keys} != {k: current.get(k) for k in keys}
        for row in log
        if not row["dry_run"] and row["request"] and row["previous_state"]
    )


def _error_text(exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}")[:2000]


def _open(platform: str, url: str, tenant_id: str, sandbox_url: str | None) -> CampaignWriter:
    if not platform_spec(platform).can(Capability.WRITE_CAMPAIGNS):
        raise ValueError(f"{platform} does not declare campaign writes (pipeline.platforms)")
    connections = resolve_connections(platform, url=url, sandbox_url=sandbox_url, tenant_id=tenant_id)
    return open_connector(connections[0], url=url)


def _read_state(connector: Any, action: Mapping[str, Any]) -> dict[str, Any]:
    return _state(connector.campaign_state(action["campaign_id"], account_id=action["account_id"]))


def _log_attempt(
    conn: psycopg.Connection,
    action: Mapping[str, Any],
    *,
    attempt: int | None,
    dry_run: bool,
    status: str,
    actor: str,
    ends_as: str | None = None,
    previous_state: Any = None,
    new_state: Any = None,
    request: Any = None,
    response: Any = None,
    guardrails: Any = None,
    error: str | None = None,
    details: Mapping[str, Any] | None = None,
    audit_log_id: bool = False,
) -> int:
    """One ``app.ai_actions_log`` row and, with ``ends_as``, the end of the execution (its status and audit
    row, ``details`` plus the log row's id if ``audit_log_id``), in one transaction; returns the log_id."""
    with conn.transaction():
        log_id = store.record_attempt(
            conn,
            action,
            attempt=attempt,
            dry_run=dry_run,
            status=status,
            actor=actor,
            previous_state=previous_state,
            new_state=new_state,
            request=request,
            response=response,
            guardrails=guardrails,
            error=error,
        )
        if ends_as is not None:
            store.finish_execution(
                conn,
                action,
                status=ends_as,
                actor=actor,
                previous_state=previous_state,
                new_state=new_state,
                guardrails=guardrails,
                error=error,
                details={**(details or {}), "log_id": log_id} if audit_log_id else details,
            )
    return log_id


def execute_action(
    url: str,
    action_id: int,
    *,
    apply: bool = False,
    actor: str = "pipeline",
    sandbox_url: str | None = None,
    settings: GuardrailSettings | None = None,
    now: datetime | None = None,
) -> ExecutionResult:
    """Dry-run (default) or apply one action; see the module docstring. Raises ActionStateError if its
    status does not allow it (executed, rejected, in flight ...)."""
    settings = settings or GuardrailSettings.from_env()
    now = now or datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        if apply:
            action, prior_attempts = store.claim_for_execution(conn, action_id, actor=actor, now=now)
            attempt: int | None = prior_attempts + 1
        else:
            action = store.get_action(conn, action_id)
            if action is None:
                raise store.ActionStateError(f"action {action_id} does not exist")
            if action["status"] in ("executed", "rejected", "superseded", "executing"):
                raise store.ActionStateError(f"action {action_id} is {action['status']}: nothing to dry-run")
            prior_attempts, attempt = int(action["attempts"]), None
        try:
            return _run(conn, url, action, apply, attempt, prior_attempts, actor, sandbox_url, settings, now)
        except BaseException as exc:
            # Whatever broke (even an interrupt), an applied execution must not stay marked ``executing``.
            if apply:
                _log_attempt(
                    conn,
                    action,
                    attempt=attempt,
                    dry_run=False,
                    status="failed",
                    actor=actor,
                    ends_as="failed",
                    error=_error_text(exc),
                )
            raise


def _run(
    conn: psycopg.Connection,
    url: str,
    action: dict[str, Any],
    apply: bool,
    attempt: int | None,
    prior_attempts: int,
    actor: str,
    sandbox_url: str | None,
    settings: GuardrailSettings,
    now: datetime,
) -> ExecutionResult:
    action_id = int(action["action_id"])
    dry_run = not apply
    params = action["params"] or {}
    approved_budget = params.get("new_daily_budget") if action["action_type"] in BUDGET_ACTIONS else None

    def fail(error: str, previous: Any = None, request: Any = None, response: Any = None) -> ExecutionResult:
        log_id = _log_attempt(
            conn,
            action,
            attempt=attempt,
            dry_run=dry_run,
            status="failed",
            actor=actor,
            ends_as="failed" if apply else None,
            previous_state=previous,
            request=request,
            response=response,
            error=error,
            details={"attempt": attempt},
        )
        status = "failed" if apply else action["status"]
        return ExecutionResult(
            action_id, "failed", dry_run, status, previous, None, request, error, [], log_id
        )

    connector = None
    try:
        try:
            connector = _open(action["platform"], url, action["tenant_id"], sandbox_url)
            current = _read_state(connector, action)
        except Exception as exc:  # the platform could not be read: nothing was written
            return fail(f"reading the campaign's current state failed: {_error_text(exc)}")

        earlier = store.action_log(conn, action_id) if apply and prior_attempts > 0 else []
        if earlier and (
            _reached(action, current, approved_budget) or _changed_since_a_write(earlier, current)
        ):
            # An earlier attempt's write landed although its answer was lost: done, without writing again.
            first = next((row for row in earlier if not row["dry_run"] and row["previous_state"]), None)
            previous = first["previous_state"] if first else None
            log_id = _log_attempt(
                conn,
                action,
                attempt=attempt,
                dry_run=False,
                status="succeeded",
                actor=actor,
                ends_as="executed",
                previous_state=previous,
                new_state=current,
                response={"already_applied": True, "detail": "the platform already shows the target state"},
                details={"attempt": attempt, "already_applied": True},
            )
            return ExecutionResult(
                action_id, "already_applied", False, "executed", previous, current, log_id=log_id
            )

        campaign = CampaignState(
            status=current.get("status"),
            daily_budget=current.get("daily_budget"),
            budget_type=current.get("budget_type"),
            source="platform",
        )
        context = store.guardrail_context(
            conn,
            tenant_id=action["tenant_id"],
            platform=action["platform"],
            account_id=action["account_id"],
            campaign_id=action["campaign_id"],
            settings=settings,
            now=now,
            stage="execute",
            campaign=campaign,
            exclude_action_id=action_id,
        )
        verdict = evaluate(action["action_type"], approved_budget, context, settings)
        guardrails = verdict.as_json()
        if verdict.blocked:
            error = "blocked by guardrails at execution: " + "; ".join(verdict.reasons)
            log_id = _log_attempt(
                conn,
                action,
                attempt=attempt,
                dry_run=dry_run,
                status="blocked",
                actor=actor,
                ends_as="blocked" if apply else None,
                previous_state=current,
                guardrails=guardrails,
                error=error,
                details={"reasons": verdict.reasons},
            )
            status = "blocked" if apply else action["status"]
            return ExecutionResult(
                action_id, "blocked", dry_run, status, current, None, None, error, verdict.reasons, log_id
            )

        budget = verdict.new_daily_budget
        target = _target(action, current, budget)
        try:
            kwargs = _write_call(connector, action, current, budget)
        except ValueError as exc:
            return fail(_error_text(exc), previous=current)
        request = {"call": "update_campaign", "campaign_id": action["campaign_id"], **kwargs}
        if verdict.clamped:
            request["clamped_from"] = approved_budget

        if dry_run:
            with conn.transaction():  # the log row and its audit row together
                log_id = _log_attempt(
                    conn,
                    action,
                    attempt=None,
                    dry_run=True,
                    status="succeeded",
                    actor=actor,
                    previous_state=current,
                    new_state=target,
                    request=request,
                    guardrails=guardrails,
                    response={"dry_run": True, "detail": "not sent: dry run"},
                )
                audit(
                    conn,
                    tenant_id=action["tenant_id"],
                    actor=actor,
                    event="action.dry_run",
                    object_type="action",
                    object_id=action_id,
                    details={"previous_state": current, "would_set": target, "log_id": log_id},
                )
            return ExecutionResult(
                action_id, "dry_run", True, action["status"], current, target, request, log_id=log_id
            )

        try:
            answer = connector.update_campaign(action["campaign_id"], **kwargs)
        except Exception as exc:
            return fail(f"the platform write failed: {_error_text(exc)}", previous=current, request=request)
        try:
            after = _read_state(connector, action)
        except Exception as exc:
            return fail(
                f"written, but reading the campaign back failed: {_error_text(exc)}",
                previous=current,
                request=request,
                response=_summary(answer),
            )
        if not _reached(action, after, budget):
            return fail(
                f"the platform reports {after} after the write, not the target",
                previous=current,
                request=request,
                response=_summary(answer),
            )
        log_id = _log_attempt(
            conn,
            action,
            attempt=attempt,
            dry_run=False,
            status="succeeded",
            actor=actor,
            ends_as="executed",
            previous_state=current,
            new_state=after,
            request=request,
            response=_summary(answer),
            guardrails=guardrails,
            details={"attempt": attempt},
            audit_log_id=True,
        )
        return ExecutionResult(
            action_id, "executed", False, "executed", current, after, request, log_id=log_id
        )
    finally:
        if connector is not None:
            connector.close()


def approve_and_execute_first(
    url: str, *, actor: str = "demo", apply: bool = True, sandbox_url: str | None = None
) -> ExecutionResult | None:
    """The demo's "approve one": approve the oldest ``proposed`` action and execute it (None if none waits).

    Goes through the same path as ``adsignal actions approve ID`` then ``execute ID --apply``: the guardrails
    run again at execution, and the previous and new state land in ``app.ai_actions_log``.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        waiting = store.proposed_actions(conn)
        if not waiting:
            return None
        action_id = int(waiting[0]["action_id"])
        store.decide(conn, action_id, "approve", actor=actor, note="approved by the demo")
    return execute_action(url, action_id, apply=apply, actor=actor, sandbox_url=sandbox_url)


__all__ = ["APPLY_ENV", "ExecutionResult", "apply_from_env", "approve_and_execute_first", "execute_action"]
