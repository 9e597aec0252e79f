"""``app.budget_experiments``: proposed budget experiments, stepped day by day through the action queue.

- :func:`save_experiments` records the experiments an allocation proposed and queues each one's first
  step (a ``BUDGET_EXPERIMENT`` action, source ``experiment``) through ``propose_actions``: guardrails,
  then a person's approval. One live experiment per campaign.
- :func:`step_experiments` (each daily allocation run) follows every live experiment: its first step
  approved and executed -> ``running``; rejected / blocked / superseded -> ``rejected`` / ``blocked``
  / ``cancelled``. A running experiment whose budget for today differs from the last one executed
  gets its next step queued (guardrails again) and approved on the strength of the first step's
  approval (the audit log says so); after the last day the budget returns to the baseline and the
  experiment is ``completed``.
- :func:`record_refits`: once a completed experiment's days have matured, the refitted elasticity
  (posterior mean and sd) is stored next to the one before: the narrowed uncertainty.

Every status change is one ``app.audit_logs`` row (object type ``budget_experiment``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from pipeline.analytics.actions import ActionProposal
from pipeline.analytics.budget.curves import CampaignKey
from pipeline.analytics.budget.experiment_plan import PlannedExperiment
from pipeline.analytics.guardrails import GuardrailSettings
from pipeline.jsonable import jsonable
from pipeline.warehouse import actions_store
from pipeline.warehouse.audit import audit

LIVE = ("proposed", "running", "completed")
IN_FLIGHT = ("proposed", "approved", "executing", "failed")


def _audit(conn: psycopg.Connection, row: Mapping[str, Any], event: str, actor: str, **details: Any) -> None:
    audit(
        conn, tenant_id=row["tenant_id"], actor=actor, event=f"budget_experiment.{event}",
        object_type="budget_experiment", object_id=row["experiment_id"], details=details,
    )  # fmt: skip


def held_experiment_keys(conn: psycopg.Connection, *, tenant_id: str = "default") -> set[CampaignKey]:
    """Campaigns whose experiment is running: the allocation holds them and proposes nothing for them.

    (A proposed one is not held: the next allocation decides again, and :func:`save_experiments`
    cancels it if it is no longer chosen.)"""
    rows = conn.execute(
        "select platform, account_id, campaign_id from app.budget_experiments"
        " where tenant_id = %s and status = 'running'",
        (tenant_id,),
    ).fetchall()
    return {(str(p), str(a), str(c)) for p, a, c in rows}


def save_experiments(
    conn: psycopg.Connection,
    allocation_id: int | None,
    planned: Iterable[PlannedExperiment],
    *,
    tenant_id: str = "default",
    run_id: str | None = None,
    settings: GuardrailSettings | None = None,
    now: datetime | None = None,
    actor: str = "pipeline",
) -> dict[int, int]:
    """Record each planned experiment (skipped if its campaign has a live one) and queue its first step.

    A proposed experiment (first step still awaiting a decision) that the new plan no longer chooses is
    cancelled and its first step superseded, as a newer allocation supersedes older proposals.
    Returns ``{experiment_id: first step's action_id}``."""
    planned = list(planned)
    out: dict[int, int] = {}
    with conn.transaction():
        _cancel_unchosen(conn, {p.key for p in planned}, tenant_id=tenant_id, actor=actor)
        for p in planned:
            a = p.assessment
            row = conn.execute(
                """
                insert into app.budget_experiments (tenant_id, allocation_id, platform, account_id, campaign_id,
                    campaign_name, currency, amplitude, sign, multipliers, daily_budgets, current_daily_budget,
                    baseline_daily_budget, planned_start, elasticity_before, value_of_information, cost, reason,
                    run_id)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (tenant_id, platform, account_id, campaign_id)
                    where status in ('proposed', 'running', 'completed')
                do nothing
                returning experiment_id""",
                (
                    tenant_id, allocation_id, *a.key, a.campaign_name, p.currency, p.amplitude, a.sign,
                    Jsonb(list(a.schedule)), Jsonb(list(p.daily_budgets)), p.current_daily_budget,
                    p.baseline_daily_budget, p.planned_start,
                    Jsonb(jsonable({"mean": a.elasticity_mean, "sd": a.elasticity_sd,
                                    "predicted_sd_after": a.elasticity_sd_after})),
                    a.value_of_information, a.cost, a.reason, run_id,
                ),
            ).fetchone()  # fmt: skip
            if row is None:
                continue
            experiment_id = int(row[0])
            (action_id,) = actions_store.propose_actions(
                conn, [p.step(experiment_id, 0, p.daily_budgets[0])], tenant_id=tenant_id, run_id=run_id,
                settings=settings, now=now, actor=actor,
            )  # fmt: skip
            audit(
                conn, tenant_id=tenant_id, actor=actor, event="budget_experiment.proposed",
                object_type="budget_experiment", object_id=experiment_id,
                details={"allocation_id": allocation_id, "first_action_id": action_id, "campaign_id": a.key[2],
                         "value_of_information": a.value_of_information, "cost": a.cost},
            )  # fmt: skip
            out[experiment_id] = action_id
    return out


def _cancel_unchosen(
    conn: psycopg.Connection, chosen: set[CampaignKey], *, tenant_id: str, actor: str
) -> None:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "select * from app.budget_experiments where tenant_id = %s and status = 'proposed' for update",
            (tenant_id,),
        ).fetchall()
    for row in rows:
        if (row["platform"], row["account_id"], row["campaign_id"]) in chosen:
            continue
        actions = _actions(conn, row)
        if actions and actions[0]["status"] not in ("proposed", "blocked"):
            continue  # approved or beyond: a person said yes; step_experiments takes it from here
        for action in actions:
            conn.execute(
                "update app.actions_queue set status = 'superseded', updated_at = now() where action_id = %s",
                (action["action_id"],),
            )
            audit(conn, tenant_id=tenant_id, actor=actor, event="action.superseded", object_type="action",
                  object_id=action["action_id"], details={"budget_experiment_cancelled": row["experiment_id"]})  # fmt: skip
        _set(conn, int(row["experiment_id"]), status="cancelled")
        _audit(conn, row, "cancelled", actor, reason="no longer chosen by the latest allocation")


def _actions(conn: psycopg.Connection, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """select action_id, status, params, executed_at, decided_by, last_error from app.actions_queue
               where tenant_id = %s and source = 'experiment' and source_ref = %s order by action_id""",
            (row["tenant_id"], f"experiment:{row['experiment_id']}"),
        ).fetchall()


def _step(row: Mapping[str, Any], day_index: int, budget: float) -> ActionProposal:
    budgets = row["daily_budgets"]
    last = day_index >= len(budgets)
    what = "return to the baseline" if last else f"day {day_index + 1} of {len(budgets)}"
    return ActionProposal(
        action_type="BUDGET_EXPERIMENT",
        source="experiment",
        source_ref=f"experiment:{row['experiment_id']}",
        platform=row["platform"],
        account_id=row["account_id"],
        campaign_id=row["campaign_id"],
        campaign_name=row["campaign_name"],
        new_daily_budget=round(budget, 2),
        reason=(
            f"Budget experiment {row['experiment_id']} ({what}): daily budget {budget:,.2f} "
            f"{row['currency'] or ''} around {float(row['baseline_daily_budget']):,.2f}"
        ),
        evidence={
            "experiment_id": row["experiment_id"],
            "day_index": day_index,
            "multipliers": row["multipliers"],
            "daily_budgets": budgets,
            "baseline_daily_budget": float(row["baseline_daily_budget"]),
        },
    )


def _set(conn: psycopg.Connection, experiment_id: int, **values: Any) -> None:
    assignments = ", ".join(f"{name} = %({name})s" for name in values)
    conn.execute(
        f"update app.budget_experiments set {assignments}, updated_at = now() where experiment_id = %(id)s",
        {**values, "id": experiment_id},
    )


def step_experiments(
    conn: psycopg.Connection,
    today: date,
    *,
    tenant_id: str = "default",
    settings: GuardrailSettings | None = None,
    now: datetime | None = None,
    actor: str = "pipeline",
) -> dict[str, list[int]]:
    """Advance every live experiment to ``today`` (see the module docstring); returns ids per outcome."""
    now = now or datetime.now(UTC)
    outcome: dict[str, list[int]] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "select * from app.budget_experiments where tenant_id = %s and status in ('proposed', 'running')"
            " order by experiment_id",
            (tenant_id,),
        ).fetchall()
    for row in rows:
        with conn.transaction():
            result = _advance(conn, row, today, tenant_id=tenant_id, settings=settings, now=now, actor=actor)
        outcome.setdefault(result, []).append(int(row["experiment_id"]))
    return outcome


def _advance(
    conn: psycopg.Connection,
    row: dict[str, Any],
    today: date,
    *,
    tenant_id: str,
    settings: GuardrailSettings | None,
    now: datetime,
    actor: str,
) -> str:
    experiment_id = int(row["experiment_id"])
    actions = _actions(conn, row)
    if not actions:
        return "waiting"
    first = actions[0]
    if row["status"] == "proposed":
        ends = {"rejected": "rejected", "blocked": "blocked", "superseded": "cancelled"}
        if first["status"] in ends:
            status = ends[first["status"]]
            _set(conn, experiment_id, status=status, last_error=first["last_error"])
            _audit(conn, row, status, actor, first_action_id=first["action_id"], error=first["last_error"])
            return status
        if first["status"] != "executed":
            return "waiting"
        started = (first["executed_at"] or now).astimezone(UTC).date()
        _set(conn, experiment_id, status="running", started_on=started)
        _audit(conn, row, "running", actor, started_on=started.isoformat(), approved_by=first["decided_by"])
        row = {**row, "status": "running", "started_on": started}
    budgets = [float(b) for b in row["daily_budgets"]]
    index = (today - row["started_on"]).days
    target = budgets[index] if 0 <= index < len(budgets) else float(row["baseline_daily_budget"])
    day_index = min(max(index, 0), len(budgets))
    last = actions[-1]
    if last["status"] in IN_FLIGHT:
        return "in_flight"
    executed = [a for a in actions if a["status"] == "executed"]
    current = float(executed[-1]["params"]["new_daily_budget"]) if executed else None
    if current is not None and round(current, 2) == round(target, 2):
        if index >= len(budgets):
            _set(conn, experiment_id, status="completed", ended_on=today)
            _audit(conn, row, "completed", actor, ended_on=today.isoformat())
            return "completed"
        return "holding"
    (action_id,) = actions_store.propose_actions(
        conn, [_step(row, day_index, target)], tenant_id=tenant_id, run_id=row["run_id"], settings=settings,
        now=now, actor=actor,
    )  # fmt: skip
    queued = actions_store.get_action(conn, action_id)
    assert queued is not None
    if queued["status"] == "blocked":
        _set(conn, experiment_id, last_error=queued["last_error"])
        return "step_blocked"
    if queued["status"] == "proposed":
        actions_store.decide(
            conn, action_id, "approve", actor=f"experiment:{experiment_id}",
            note=f"step of budget experiment {experiment_id}, approved with its first step by "
            f"{first['decided_by'] or 'unknown'}",
        )  # fmt: skip
    _set(conn, experiment_id, last_error=None)
    return "stepped"


def record_refits(
    conn: psycopg.Connection,
    posterior: Mapping[CampaignKey, tuple[float, float]],
    as_of: date,
    *,
    settle_days: int = 3,
    tenant_id: str = "default",
    actor: str = "pipeline",
) -> list[dict[str, Any]]:
    """Store the refitted elasticity of completed experiments whose days have matured (``ended_on +
    settle_days <= as_of``); returns {experiment_id, campaign_id, sd_before, sd_after} per refit."""
    out = []
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "select * from app.budget_experiments where tenant_id = %s and status = 'completed'"
            " and ended_on <= %s for update",
            (tenant_id, as_of - timedelta(days=settle_days)),
        ).fetchall()
    for row in rows:
        key = (row["platform"], row["account_id"], row["campaign_id"])
        if key not in posterior:
            continue
        mean, sd = posterior[key]
        after = {"mean": round(mean, 4), "sd": round(sd, 4), "as_of": as_of.isoformat()}
        _set(conn, int(row["experiment_id"]), status="refitted", elasticity_after=Jsonb(after))
        before = row["elasticity_before"] or {}
        _audit(conn, row, "refitted", actor, sd_before=before.get("sd"), sd_after=after["sd"])
        out.append({"experiment_id": row["experiment_id"], "campaign_id": row["campaign_id"],
                    "sd_before": before.get("sd"), "sd_after": after["sd"]})  # fmt: skip
    return out


def list_experiments(conn: psycopg.Connection, *, tenant_id: str = "default") -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "select * from app.budget_experiments where tenant_id = %s order by experiment_id", (tenant_id,)
        ).fetchall()


__all__ = [
    "held_experiment_keys",
    "list_experiments",
    "record_refits",
    "save_experiments",
    "step_experiments",
]
