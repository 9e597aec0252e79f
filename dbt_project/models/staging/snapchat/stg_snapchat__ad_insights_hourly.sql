with source as (
    select * from {{ source('snapchat', 'ads_insights_hourly') }}
),

-- One row per real hour: start_time is the account's wall clock plus its UTC offset, so its first
-- 19 characters are the local clock hour.
hours as (
    select
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
    group by account_id, ad_id, hour_start_local
),

ads as (
    select account_id, ad_id, campaign_id, ad_group_id, ad_name from {{ ref('stg_snapchat__ads') }}
),

ad_squads as (
    select account_id, ad_group_id, ad_group_name from {{ ref('stg_snapchat__ad_squads') }}
),

campaigns as (
    select account_id, campaign_id, campaign_name from {{ ref('stg_snapchat__campaigns') }}
),

accounts as (
    select account_id, account_name, currency, timezone from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    clock_hours.account_id,
    clock_hours.ad_id,
    clock_hours.hour_start_local::date as date_day,
    extract(hour from clock_hours.hour_start_local)::integer as hour_of_day,
    clock_hours.hour_start_local,
    {{ local_hour_start_to_utc('clock_hours.hour_start_local', 'accounts.timezone') }} as hour_start_utc,
    clock_hours.platform_hours,
    ads.campaign_id,
    ads.ad_group_id,
    accounts.account_name,
    campaigns.campaign_name,
    ad_squads.ad_group_name,
    ads.ad_name,
    accounts.currency,
    clock_hours.spend,
    clock_hours.impressions,
    clock_hours.clicks,
    clock_hours.conversions,
    clock_hours.conversion_value,
    clock_hours.attribution_setting,
    clock_hours.finalized_data_end_time,
    clock_hours.is_finalized,
    clock_hours._sync_id,
    clock_hours._extracted_at
from clock_hours
left join ads
    on clock_hours.account_id = ads.account_id
    and clock_hours.ad_id = ads.ad_id
left join ad_squads
    on ads.account_id = ad_squads.account_id
    and ads.ad_group_id = ad_squads.ad_group_id
left join campaigns
    on ads.account_id = campaigns.account_id
    and ads.campaign_id = campaigns.campaign_id
left join accounts
    on clock_hours.account_id = accounts.account_id
