with source as (
    select * from {{ source('snapchat', 'ads_insights_hourly') }}
),

-- One row per real hour: start_time is the account's wall clock plus its UTC offset, so its first
-- 19 characters are the local clock hour.
hours as (
    select
        tenant_id,
        account_id,
        ad_id,
        left(payload ->> 'start_time', 19)::timestamp as hour_start_local,
        {{ snapchat_stats_columns('payload') }},
        _sync_id,
        _extracted_at
    from source
    -- Idle hours (all stats zero) are left out, as every platform leaves them out.
    where {{ snapchat_stats_have_activity('payload') }}
),

-- The house grain is the local clock hour: on a DST fall-back day Snap reports the repeated hour
-- twice (two real hours); both fold into that clock hour, as every platform's hourly model does.
clock_hours as (
    select
        tenant_id,
        account_id,
        ad_id,
        hour_start_local,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value,
        min(attribution_setting) as attribution_setting,
        max(finalized_data_end_time) as finalized_data_end_time,
        bool_and(is_finalized) as is_finalized,
        count(*) as platform_hours,
        (array_agg(_sync_id order by _extracted_at desc))[1] as _sync_id,
        max(_extracted_at) as _extracted_at
    from hours
    group by tenant_id, account_id, ad_id, hour_start_local
)

select
    tenant_id,
    account_id,
    ad_id,
    hour_start_local::date as date_day,
    extract(hour from hour_start_local)::integer as hour_of_day,
    -- On the account's clock; int_snapchat__ad_insights_hourly_joined turns it into an instant.
    hour_start_local,
    platform_hours,
    spend,
    impressions,
    clicks,
    conversions,
    conversion_value,
    attribution_setting,
    finalized_data_end_time,
    is_finalized,
    _sync_id,
    _extracted_at
from clock_hours
