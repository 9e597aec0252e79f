-- Files give local clock hours; the account's IANA timezone turns them into instants.
with hours as (
    select * from {{ ref('stg_csv__ad_insights_hourly') }}
),

accounts as (
    select tenant_id, platform, account_id, timezone from {{ ref('int_csv__ad_accounts_aggregated') }}
)

select
    hours.tenant_id,
    hours.platform,
    hours.account_id,
    hours.ad_id,
    hours.date_day,
    hours.hour_of_day,
    hours.hour_start_local,
    {{ local_hour_start_to_utc('hours.hour_start_local', 'accounts.timezone') }} as hour_start_utc,
    hours.campaign_id,
    hours.ad_group_id,
    hours.account_name,
    hours.campaign_name,
    hours.ad_group_name,
    hours.ad_name,
    hours.currency,
    hours.spend,
    hours.impressions,
    hours.clicks,
    hours.conversions,
    hours.conversion_value,
    hours.file_name,
    hours.file_line_number,
    accounts.timezone,
    hours._sync_id,
    hours._extracted_at
from hours
left join accounts
    on hours.tenant_id = accounts.tenant_id
    and hours.platform = accounts.platform
    and hours.account_id = accounts.account_id
