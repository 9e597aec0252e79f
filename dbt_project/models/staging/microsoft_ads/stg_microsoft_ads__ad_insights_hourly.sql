with source as (
    select * from {{ source('microsoft_ads', 'ads_insights_hourly') }}
),

-- Microsoft labels hours on the account's clock; its time zone (as IANA) turns them into instants.
accounts as (
    select account_id, timezone from {{ ref('stg_microsoft_ads__ad_accounts') }}
),

hours as (
    select
        source.*,
        -- TimePeriod "yyyy-mm-dd|h": the local clock hour after the pipe.
        {{ microsoft_ads_time_period_hour('source.time_period') }} as hour_of_day
    from source
)

select
    hours.account_id,
    hours.ad_id,
    hours.report_date as date_day,
    hours.hour_of_day,
    hours.report_date + make_interval(hours => hours.hour_of_day) as hour_start_local,
    {{ local_hour_start_to_utc('hours.report_date + make_interval(hours => hours.hour_of_day)', 'accounts.timezone') }}
        as hour_start_utc,
    hours.time_period as platform_time_period,
    {{ microsoft_ads_report_columns() }},
    hours._sync_id,
    hours._extracted_at
from hours
left join accounts
    on hours.account_id = accounts.account_id
