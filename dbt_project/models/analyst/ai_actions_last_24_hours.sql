{#-
    What was done to the platforms (or would have been: dry runs are included and flagged, attempts
    the guardrails blocked too) in the last 24 hours: one row per execution attempt in app.ai_actions_log whose executed_at is within
    24 hours of the query, with the queued action it executed (app.actions_queue: where the
    proposal came from, why, who approved it). A live view: the window moves with now().
-#}
with executions as (
    select *
    from {{ source('app', 'ai_actions_log') }}
    where executed_at >= now() - interval '24 hours'
        and tenant_id in (select app.visible_tenants())  -- the reader's tenants (views run as their owner)
)

select
    executions.tenant_id,
    executions.log_id,
    executions.action_id,
    executions.attempt,
    executions.executed_at,
    executions.executed_by,
    executions.platform,
    executions.account_id,
    executions.campaign_id,
    queue.campaign_name,
    executions.action_type,
    executions.dry_run,
    executions.status as execution_status,
    executions.error,
    executions.guardrails,
    executions.previous_state,
    executions.new_state,
    queue.params,
    queue.source,
    queue.source_ref,
    coalesce(executions.recommendation_id, recommendation_ref.recommendation_id) as recommendation_id,
    queue.reason,
    queue.status as action_status,
    queue.decided_by,
    queue.decided_at,
    queue.decision_note,
    queue.created_at as proposed_at
from executions
inner join {{ source('app', 'actions_queue') }} as queue
    on executions.action_id = queue.action_id
-- A recommendation's action names it in source_ref ("recommendation:<id>") when the log row does not.
left join lateral (
    select substring(queue.source_ref from '^recommendation:(\d+)$')::bigint as recommendation_id
) as recommendation_ref on true
