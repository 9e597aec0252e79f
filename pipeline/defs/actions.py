"""The ``execute_action`` job: carry out one action of ``app.actions_queue`` (dry run unless ``apply``).

An op-based job, not an asset: it runs when a person launches it with the action's id, never as part of
the daily asset job. Launchpad config::

    ops:
      execute_approved_action:
        config: {action_id: 12, apply: true}

The logic lives in ``pipeline.execution``; guardrails run again there before anything is written.
"""

import dagster as dg

from pipeline.defs.resources import PlatformsResource, WarehouseResource
from pipeline.execution import execute_action
from pipeline.warehouse.actions_store import ActionStateError


class ExecuteActionConfig(dg.Config):
    action_id: int
    apply: bool = False  # False: dry run (log what would be set, write nothing)
    actor: str = "dagster"


@dg.op(
    description=(
        "Execute one approved action on its platform (dry run unless apply): guardrails against the platform's"
        " current state, the connector's write, previous and new state in app.ai_actions_log."
    ),
    tags={"kind": "python"},
)
def execute_approved_action(
    context: dg.OpExecutionContext,
    config: ExecuteActionConfig,
    warehouse: WarehouseResource,
    platforms: PlatformsResource,
) -> dg.Output[str]:
    actor = f"{config.actor} (run {context.run_id[:8]})"
    try:
        result = execute_action(
            warehouse.get_url(),
            config.action_id,
            apply=config.apply,
            actor=actor,
            sandbox_url=platforms.sandbox_url or None,
        )
    except ActionStateError as exc:
        raise dg.Failure(description=str(exc)) from None
    metadata = {
        "action_id": result.action_id,
        "outcome": result.outcome,
        "dry_run": result.dry_run,
        "status": result.status,
        "previous_state": dg.MetadataValue.json(result.previous_state or {}),
        "new_state": dg.MetadataValue.json(result.new_state or {}),
        "log_id": result.log_id or 0,
    }
    if result.outcome in ("failed", "blocked"):
        raise dg.Failure(description=result.error or result.outcome, metadata=metadata)
    return dg.Output(result.outcome, metadata=metadata)


@dg.job(
    name="execute_action",
    description="Execute one action of app.actions_queue by id (run config: action_id, apply; dry run by default).",
)
def execute_action_job() -> None:
    execute_approved_action()


defs = dg.Definitions(jobs=[execute_action_job])
