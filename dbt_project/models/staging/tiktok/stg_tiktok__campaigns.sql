with source as (
    select * from {{ source('tiktok', 'campaigns') }}
),

accounts as (
    select account_id, currency from {{ ref('stg_tiktok__ad_accounts') }}
),

-- TikTok schedules ad groups, not campaigns: a campaign runs from its first ad group's start to its
-- last ad group's end, and is open-ended while any of its ad groups is.
schedules as (
    select
        account_id,
        campaign_id,
        min(started_at) as started_at,
        min(start_date) as start_date,
        case when bool_and(stopped_at is not null) then max(stopped_at) end as stopped_at,
        case when bool_and(end_date is not null) then max(end_date) end as end_date
    from {{ ref('stg_tiktok__ad_groups') }}
    group by account_id, campaign_id
),

parsed as (
    select
        source.*,
        payload ->> 'budget_mode' as budget_mode,
        {{ safe_cast("nullif(payload ->> 'budget', '')", "numeric") }} as budget
    from source
)

select
    parsed.account_id,
    parsed.campaign_id,
    parsed.payload ->> 'campaign_name' as campaign_name,
    {{ tiktok_unified_status("parsed.payload ->> 'operation_status'", "parsed.payload ->> 'secondary_status'", 'CAMPAIGN') }} as status,
    parsed.payload ->> 'operation_status' as platform_status,
    parsed.payload ->> 'secondary_status' as platform_effective_status,
    parsed.payload ->> 'objective_type' as objective,
    case parsed.budget_mode
        when 'BUDGET_MODE_DAY' then 'DAILY'
        when 'BUDGET_MODE_TOTAL' then 'LIFETIME'
        -- No campaign budget: each ad group holds its own.
        when 'BUDGET_MODE_INFINITE' then 'AD_GROUP'
    end as budget_type,
    -- Budgets are JSON numbers in major units of the advertiser's currency.
    case when parsed.budget_mode = 'BUDGET_MODE_DAY' then parsed.budget end as daily_budget,
    case when parsed.budget_mode = 'BUDGET_MODE_TOTAL' then parsed.budget end as lifetime_budget,
    accounts.currency,
    schedules.start_date,
    schedules.end_date,
    schedules.started_at,
    schedules.stopped_at,
    -- UTC wall-clock text.
    {{ tiktok_utc_time("parsed.payload ->> 'create_time'") }} as created_at,
    {{ tiktok_utc_time("parsed.payload ->> 'modify_time'") }} as updated_at,
    parsed._sync_id,
    parsed._extracted_at
from parsed
left join accounts
    on parsed.account_id = accounts.account_id
left join schedules
    on parsed.account_id = schedules.account_id
    and parsed.campaign_id = schedules.campaign_id
