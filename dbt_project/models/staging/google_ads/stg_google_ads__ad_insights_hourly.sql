with source as (
    select * from {{ source('google_ads', 'ads_insights_hourly') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    segments_date as date_day,
    segments_hour as hour_of_day,
    -- segments.date and segments.hour are on the account's clock; int_google_ads__ad_insights_hourly_joined
    -- turns the hour into an instant.
    segments_date + make_interval(hours => segments_hour) as hour_start_local,
    -- The rows carry the account's zone too (customer.time_zone): used when the account snapshot is missing.
    payload -> 'customer' ->> 'timeZone' as reported_timezone,
    {{ google_ads_insights_columns('payload') }},
    _sync_id,
    _extracted_at
from source
