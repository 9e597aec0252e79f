with source as (
    select * from {{ source('microsoft_ads', 'campaigns') }}
)

select
    tenant_id,
    account_id,
    campaign_id,
    payload ->> 'Name' as campaign_name,
    {{ microsoft_ads_unified_status("payload ->> 'Status'") }} as status,
    payload ->> 'Status' as platform_status,
    -- Microsoft has no objective field; the campaign type (Search, Audience, ...) plays its part.
    payload ->> 'CampaignType' as objective,
    payload ->> 'CampaignType' as campaign_type,
    -- DailyBudgetStandard / DailyBudgetAccelerated: always a daily amount, in major units.
    case when payload ->> 'BudgetType' like 'DailyBudget%' then 'DAILY' end as budget_type,
    payload ->> 'BudgetType' as platform_budget_type,
    round({{ safe_cast("nullif(payload ->> 'DailyBudget', '')", "numeric") }}, 2) as daily_budget,
    null::numeric as lifetime_budget,
    nullif(payload ->> 'BudgetId', '') as shared_budget_id,
    payload -> 'BiddingScheme' ->> 'Type' as bid_strategy,
    -- Not exposed by Campaign Management.
    null::timestamptz as created_at,
    null::timestamptz as updated_at,
    _sync_id,
    _extracted_at
from source
