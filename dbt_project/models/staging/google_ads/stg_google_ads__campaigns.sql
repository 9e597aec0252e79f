with source as (
    select * from {{ source('google_ads', 'campaigns') }}
),

parsed as (
    select
        tenant_id,
        account_id,
        campaign_id,
        payload -> 'campaign' as campaign,
        payload -> 'campaignBudget' as budget,
        upper(payload -> 'customer' ->> 'currencyCode') as reported_currency,
        -- "yyyy-MM-dd HH:mm:ss" on the account's clock (API v23+ start_date_time / end_date_time).
        {{ safe_cast("nullif(payload -> 'campaign' ->> 'startDateTime', '')", "timestamp") }} as starts_local,
        {{ safe_cast("nullif(payload -> 'campaign' ->> 'endDateTime', '')", "timestamp") }} as ends_local,
        _sync_id,
        _extracted_at
    from source
)

select
    tenant_id,
    account_id,
    campaign_id,
    campaign ->> 'name' as campaign_name,
    {{ google_ads_unified_status("campaign ->> 'status'") }} as status,
    campaign ->> 'status' as platform_status,
    campaign ->> 'servingStatus' as platform_serving_status,
    -- Google has no objective field: the advertising channel (SEARCH, PERFORMANCE_MAX, ...) plays its part.
    campaign ->> 'advertisingChannelType' as objective,
    campaign ->> 'biddingStrategyType' as bidding_strategy_type,
    case
        when budget ->> 'period' = 'CUSTOM_PERIOD' or budget ? 'totalAmountMicros' then 'LIFETIME'
        else 'DAILY'
    end as budget_type,
    round({{ google_ads_micros_to_major("budget ->> 'amountMicros'") }}, 2) as daily_budget,
    round({{ google_ads_micros_to_major("budget ->> 'totalAmountMicros'") }}, 2) as lifetime_budget,
    coalesce((budget ->> 'explicitlyShared')::boolean, false) as is_shared_budget,
    campaign ->> 'campaignBudget' as budget_resource_name,
    reported_currency,
    starts_local::date as start_date,
    -- Google reports "2037-12-30" for campaigns without an end date.
    case when ends_local::date < date '2037-12-30' then ends_local::date end as end_date,
    -- On the account's clock; int_google_ads__campaigns_joined turns them into instants.
    starts_local as start_time_local,
    -- The last second the campaign runs; null when open-ended.
    case when ends_local::date < date '2037-12-30' then ends_local end as end_time_local,
    -- Not exposed on the campaign resource (change_event keeps 30 days of history only).
    null::timestamptz as created_at,
    null::timestamptz as updated_at,
    _sync_id,
    _extracted_at
from parsed
