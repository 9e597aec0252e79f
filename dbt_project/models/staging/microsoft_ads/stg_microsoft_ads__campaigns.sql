with source as (
    select * from {{ source('microsoft_ads', 'campaigns') }}
),

accounts as (
    select account_id, currency from {{ ref('stg_microsoft_ads__ad_accounts') }}
),

-- Microsoft campaigns carry no dates: their ad groups do. A campaign runs from its first ad
-- group's start to its last ad group's end (open-ended when any ad group is).
ad_group_dates as (
    select
        account_id,
        _campaign_id as campaign_id,
        min(start_date) as start_date,
        case when bool_and(end_date is not null) then max(end_date) end as end_date
    from (
        select
            account_id,
            payload ->> '_campaign_id' as _campaign_id,
            {{ microsoft_ads_date("payload -> 'StartDate'") }} as start_date,
            {{ microsoft_ads_date("payload -> 'EndDate'") }} as end_date
        from {{ source('microsoft_ads', 'ad_groups') }}
    ) as ad_groups
    group by account_id, _campaign_id
)

select
    source.account_id,
    source.campaign_id,
    source.payload ->> 'Name' as campaign_name,
    {{ microsoft_ads_unified_status("source.payload ->> 'Status'") }} as status,
    source.payload ->> 'Status' as platform_status,
    -- Microsoft has no objective field; the campaign type (Search, Audience, ...) plays its part.
    source.payload ->> 'CampaignType' as objective,
    source.payload ->> 'CampaignType' as campaign_type,
    -- DailyBudgetStandard / DailyBudgetAccelerated: always a daily amount, in major units.
    case when source.payload ->> 'BudgetType' like 'DailyBudget%' then 'DAILY' end as budget_type,
    source.payload ->> 'BudgetType' as platform_budget_type,
    round({{ safe_cast("nullif(source.payload ->> 'DailyBudget', '')", "numeric") }}, 2) as daily_budget,
    null::numeric as lifetime_budget,
    nullif(source.payload ->> 'BudgetId', '') as shared_budget_id,
    source.payload -> 'BiddingScheme' ->> 'Type' as bid_strategy,
    accounts.currency,
    ad_group_dates.start_date,
    ad_group_dates.end_date,
    -- Not exposed by Campaign Management.
    null::timestamptz as created_at,
    null::timestamptz as updated_at,
    source._sync_id,
    source._extracted_at
from source
left join accounts
    on source.account_id = accounts.account_id
left join ad_group_dates
    on source.account_id = ad_group_dates.account_id
    and source.campaign_id = ad_group_dates.campaign_id
