with source as (
    select * from {{ source('google_ads', 'ads_insights_hourly') }}
),

-- segments.date and segments.hour are on the account's clock; its IANA timezone gives the instant.
accounts as (
    select account_id, timezone from {{ ref('stg_google_ads__ad_accounts') }}
),

hours as (
    select
        source.*,
        source.segments_date + make_interval(hours => source.segments_hour) as hour_start_local,
        -- The rows carry the zone too (customer.time_zone): used when the account snapshot is missing.
        coalesce(accounts.timezone, source.payload -> 'customer' ->> 'timeZone') as timezone
    from source
    left join accounts
        on source.account_id = accounts.account_id
)

select
    account_id,
    ad_id,
    segments_date as date_day,
    segments_hour as hour_of_day,
    hour_start_local,
    {{ local_hour_start_to_utc('hour_start_local', 'timezone') }} as hour_start_utc,
    {{ google_ads_insights_columns('payload') }},
    _sync_id,
    _extracted_at
from hours
