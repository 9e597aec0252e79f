-- TikTok labels hours on the advertiser's clock; its IANA timezone turns them into instants.
with hours as (
    select * from {{ ref('stg_tiktok__ad_insights_hourly') }}
),

accounts as (
    select tenant_id, account_id, account_name, currency, timezone from {{ ref('stg_tiktok__ad_accounts') }}
)

select
    hours.tenant_id,
    hours.account_id,
    hours.ad_id,
    hours.date_day,
    hours.hour_of_day,
    hours.hour_start_local,
    {{ local_hour_start_to_utc('hours.hour_start_local', 'accounts.timezone') }} as hour_start_utc,
    hours.platform_hour_label,
    hours.campaign_id,
    hours.ad_group_id,
    accounts.account_name,
    hours.campaign_name,
    hours.ad_group_name,
    hours.ad_name,
    coalesce(hours.reported_currency, accounts.currency) as currency,
    hours.spend,
    hours.impressions,
    hours.clicks,
    hours.optimization_events,
    hours.conversions,
    hours.conversion_value,
    hours._sync_id,
    hours._extracted_at
from hours
left join accounts
    on hours.tenant_id = accounts.tenant_id
    and hours.account_id = accounts.account_id
