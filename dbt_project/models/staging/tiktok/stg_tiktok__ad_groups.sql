with source as (
    select * from {{ source('tiktok', 'adgroups') }}
),

parsed as (
    select
        source.*,
        payload ->> 'budget_mode' as budget_mode,
        {{ safe_cast("nullif(payload ->> 'budget', '')", "numeric") }} as budget
    from source
)

select
    tenant_id,
    account_id,
    -- House vocabulary: a TikTok ad group is an ad group.
    adgroup_id as ad_group_id,
    payload ->> 'campaign_id' as campaign_id,
    payload ->> 'adgroup_name' as ad_group_name,
    {{ tiktok_unified_status("payload ->> 'operation_status'", "payload ->> 'secondary_status'", 'ADGROUP') }} as status,
    payload ->> 'operation_status' as platform_status,
    payload ->> 'secondary_status' as platform_effective_status,
    payload ->> 'optimization_goal' as optimization_goal,
    -- Budgets are major units already; BUDGET_MODE_INFINITE: the campaign holds the budget.
    case when budget_mode = 'BUDGET_MODE_DAY' then budget end as daily_budget,
    case when budget_mode = 'BUDGET_MODE_TOTAL' then budget end as lifetime_budget,
    -- Schedules are UTC wall-clock text; open-ended ad groups (SCHEDULE_FROM_NOW) have no end.
    {{ tiktok_utc_time("payload ->> 'schedule_start_time'") }} as started_at,
    case when payload ->> 'schedule_type' = 'SCHEDULE_START_END'
        then {{ tiktok_utc_time("payload ->> 'schedule_end_time'") }}
    end as stopped_at,
    _sync_id,
    _extracted_at
from parsed
