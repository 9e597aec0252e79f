with source as (
    select * from {{ source('tiktok', 'ads_insights_hourly') }}
),

-- TikTok labels hours on the advertiser's clock; its IANA timezone turns them into instants.
accounts as (
    select account_id, account_name, currency, timezone from {{ ref('stg_tiktok__ad_accounts') }}
),

parsed as (
    select
        account_id,
        ad_id,
        stat_time_day as date_day,
        -- "YYYY-MM-DD HH:00:00": the local clock hour the row covers.
        stat_time_hour::timestamp as hour_start_local,
        stat_time_hour as platform_hour_label,
        -- Shared with stg_tiktok__ad_insights: both grains parse a row the same way (no reach per hour).
        {{ tiktok_report_columns() }},
        _sync_id,
        _extracted_at
    from source
)

select
    parsed.account_id,
    parsed.ad_id,
    parsed.date_day,
    extract(hour from parsed.hour_start_local)::integer as hour_of_day,
    parsed.hour_start_local,
    {{ local_hour_start_to_utc('parsed.hour_start_local', 'accounts.timezone') }} as hour_start_utc,
    parsed.platform_hour_label,
    parsed.campaign_id,
    parsed.ad_group_id,
    accounts.account_name,
    parsed.campaign_name,
    parsed.ad_group_name,
    parsed.ad_name,
    coalesce(parsed.reported_currency, accounts.currency) as currency,
    parsed.spend,
    parsed.impressions,
    parsed.clicks,
    parsed.optimization_events,
    parsed.conversions,
    parsed.conversion_value,
    parsed._sync_id,
    parsed._extracted_at
from parsed
left join accounts
    on parsed.account_id = accounts.account_id
