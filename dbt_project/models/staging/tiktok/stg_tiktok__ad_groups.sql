with source as (
    select * from {{ source('tiktok', 'adgroups') }}
),

accounts as (
    select account_id, currency, timezone from {{ ref('stg_tiktok__ad_accounts') }}
),

parsed as (
    select
        source.*,
        payload ->> 'budget_mode' as budget_mode,
        {{ safe_cast("nullif(payload ->> 'budget', '')", "numeric") }} as budget,
        -- Schedules are UTC wall-clock text; open-ended ad groups (SCHEDULE_FROM_NOW) have no end.
        {{ tiktok_utc_time("payload ->> 'schedule_start_time'") }} as started_at,
        case when payload ->> 'schedule_type' = 'SCHEDULE_START_END'
            then {{ tiktok_utc_time("payload ->> 'schedule_end_time'") }}
        end as stopped_at
    from source
)

select
    parsed.account_id,
    -- House vocabulary: a TikTok ad group is an ad group.
    parsed.adgroup_id as ad_group_id,
    parsed.payload ->> 'campaign_id' as campaign_id,
    parsed.payload ->> 'adgroup_name' as ad_group_name,
    {{ tiktok_unified_status("parsed.payload ->> 'operation_status'", "parsed.payload ->> 'secondary_status'", 'ADGROUP') }} as status,
    parsed.payload ->> 'operation_status' as platform_status,
    parsed.payload ->> 'secondary_status' as platform_effective_status,
    parsed.payload ->> 'optimization_goal' as optimization_goal,
    -- Budgets are major units already; BUDGET_MODE_INFINITE: the campaign holds the budget.
    case when parsed.budget_mode = 'BUDGET_MODE_DAY' then parsed.budget end as daily_budget,
    case when parsed.budget_mode = 'BUDGET_MODE_TOTAL' then parsed.budget end as lifetime_budget,
    accounts.currency,
    parsed.started_at,
    parsed.stopped_at,
    -- Local (advertiser timezone) dates of the schedule.
    (parsed.started_at at time zone accounts.timezone)::date as start_date,
    (parsed.stopped_at at time zone accounts.timezone)::date as end_date,
    parsed._sync_id,
    parsed._extracted_at
from parsed
left join accounts
    on parsed.account_id = accounts.account_id
