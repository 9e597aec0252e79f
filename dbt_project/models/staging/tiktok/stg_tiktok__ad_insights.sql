with source as (
    select * from {{ source('tiktok', 'ads_insights_daily') }}
),

accounts as (
    select account_id, account_name, currency from {{ ref('stg_tiktok__ad_accounts') }}
),

parsed as (
    select
        account_id,
        ad_id,
        stat_time_day as date_day,
        -- Shared with stg_tiktok__ad_insights_hourly: both grains parse a row the same way.
        {{ tiktok_report_columns() }},
        {{ tiktok_metric('reach', 'bigint') }} as reach,
        _sync_id,
        _extracted_at
    from source
)

select
    parsed.account_id,
    parsed.ad_id,
    parsed.date_day,
    parsed.campaign_id,
    parsed.ad_group_id,
    accounts.account_name,
    parsed.campaign_name,
    parsed.ad_group_name,
    parsed.ad_name,
    -- The row's own currency attribute, else the advertiser's (they are the same currency).
    coalesce(parsed.reported_currency, accounts.currency) as currency,
    parsed.spend,
    parsed.impressions,
    parsed.clicks,
    parsed.reach,
    parsed.optimization_events,
    parsed.conversions,
    parsed.conversion_value,
    parsed._sync_id,
    parsed._extracted_at
from parsed
left join accounts
    on parsed.account_id = accounts.account_id
