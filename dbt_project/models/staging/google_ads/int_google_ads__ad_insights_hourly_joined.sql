-- segments.date and segments.hour are on the account's clock; its IANA timezone gives the instant.
with hours as (
    select * from {{ ref('stg_google_ads__ad_insights_hourly') }}
),

accounts as (
    select tenant_id, account_id, timezone from {{ ref('stg_google_ads__ad_accounts') }}
),

zoned as (
    select
        hours.*,
        -- The account snapshot's zone, else the one the row carries (customer.time_zone).
        coalesce(accounts.timezone, hours.reported_timezone) as timezone
    from hours
    left join accounts
        on hours.tenant_id = accounts.tenant_id
        and hours.account_id = accounts.account_id
)

select
    tenant_id,
    account_id,
    ad_id,
    date_day,
    hour_of_day,
    hour_start_local,
    {{ local_hour_start_to_utc('hour_start_local', 'timezone') }} as hour_start_utc,
    campaign_id,
    ad_group_id,
    account_name,
    campaign_name,
    ad_group_name,
    ad_name,
    currency,
    spend,
    impressions,
    clicks,
    conversions,
    conversion_value,
    _sync_id,
    _extracted_at
from zoned
