-- Microsoft labels hours on the account's clock; its time zone (as IANA) turns them into instants.
with hours as (
    select * from {{ ref('stg_microsoft_ads__ad_insights_hourly') }}
),

accounts as (
    select tenant_id, account_id, timezone from {{ ref('stg_microsoft_ads__ad_accounts') }}
)

select
    hours.tenant_id,
    hours.account_id,
    hours.ad_id,
    hours.date_day,
    hours.hour_of_day,
    hours.hour_start_local,
    {{ local_hour_start_to_utc('hours.hour_start_local', 'accounts.timezone') }} as hour_start_utc,
    hours.platform_time_period,
    hours.campaign_id,
    hours.ad_group_id,
    hours.account_name,
    hours.campaign_name,
    hours.ad_group_name,
    hours.ad_name,
    hours.campaign_type,
    hours.ad_type,
    hours.currency,
    hours.spend,
    hours.impressions,
    hours.clicks,
    hours.conversions,
    hours.conversion_value,
    hours.platform_ctr,
    hours.platform_conversion_rate,
    hours.platform_average_cpc,
    hours.platform_return_on_ad_spend,
    hours._sync_id,
    hours._extracted_at
from hours
left join accounts
    on hours.tenant_id = accounts.tenant_id
    and hours.account_id = accounts.account_id
