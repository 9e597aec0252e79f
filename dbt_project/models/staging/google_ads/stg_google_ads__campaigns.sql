with source as (
    select * from {{ source('google_ads', 'campaigns') }}
),

-- Currency and timezone of the account, for rows whose payload lacks them and for start/stop instants.
accounts as (
    select account_id, currency, timezone from {{ ref('stg_google_ads__ad_accounts') }}
),

parsed as (
    select
        source.account_id,
        source.campaign_id,
        source.payload -> 'campaign' as campaign,
        source.payload -> 'campaignBudget' as budget,
        upper(source.payload -> 'customer' ->> 'currencyCode') as payload_currency,
        -- "yyyy-MM-dd HH:mm:ss" on the account's clock (API v23+ start_date_time / end_date_time).
        {{ safe_cast("nullif(source.payload -> 'campaign' ->> 'startDateTime', '')", "timestamp") }} as starts_local,
        {{ safe_cast("nullif(source.payload -> 'campaign' ->> 'endDateTime', '')", "timestamp") }} as ends_local,
        source._sync_id,
        source._extracted_at
    from source
)

select
    parsed.account_id,
    parsed.campaign_id,
    parsed.campaign ->> 'name' as campaign_name,
    {{ google_ads_unified_status("parsed.campaign ->> 'status'") }} as status,
    parsed.campaign ->> 'status' as platform_status,
    parsed.campaign ->> 'servingStatus' as platform_serving_status,
    -- Google has no objective field: the advertising channel (SEARCH, PERFORMANCE_MAX, ...) plays its part.
    parsed.campaign ->> 'advertisingChannelType' as objective,
    parsed.campaign ->> 'biddingStrategyType' as bidding_strategy_type,
    case
        when parsed.budget ->> 'period' = 'CUSTOM_PERIOD' or parsed.budget ? 'totalAmountMicros' then 'LIFETIME'
        else 'DAILY'
    end as budget_type,
    round({{ google_ads_micros_to_major("parsed.budget ->> 'amountMicros'") }}, 2) as daily_budget,
    round({{ google_ads_micros_to_major("parsed.budget ->> 'totalAmountMicros'") }}, 2) as lifetime_budget,
    coalesce((parsed.budget ->> 'explicitlyShared')::boolean, false) as is_shared_budget,
    parsed.campaign ->> 'campaignBudget' as budget_resource_name,
    coalesce(parsed.payload_currency, accounts.currency) as currency,
    parsed.starts_local::date as start_date,
    -- Google reports "2037-12-30" for campaigns without an end date.
    case when parsed.ends_local::date < date '2037-12-30' then parsed.ends_local::date end as end_date,
    parsed.starts_local at time zone accounts.timezone as started_at,
    case
        when parsed.ends_local::date < date '2037-12-30'
            then (parsed.ends_local + interval '1 second') at time zone accounts.timezone
    end as stopped_at,
    -- Not exposed on the campaign resource (change_event keeps 30 days of history only).
    null::timestamptz as created_at,
    null::timestamptz as updated_at,
    parsed._sync_id,
    parsed._extracted_at
from parsed
left join accounts
    on parsed.account_id = accounts.account_id
