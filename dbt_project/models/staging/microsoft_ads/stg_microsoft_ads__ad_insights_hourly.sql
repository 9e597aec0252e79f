with source as (
    select * from {{ source('microsoft_ads', 'ads_insights_hourly') }}
),

hours as (
    select
        source.*,
        -- TimePeriod "yyyy-mm-dd|h": the local clock hour after the pipe.
        {{ microsoft_ads_time_period_hour('source.time_period') }} as hour_of_day
    from source
)

select
    tenant_id,
    account_id,
    ad_id,
    report_date as date_day,
    hour_of_day,
    -- On the account's clock; int_microsoft_ads__ad_insights_hourly_joined turns it into an instant.
    report_date + make_interval(hours => hour_of_day) as hour_start_local,
    time_period as platform_time_period,
    {{ microsoft_ads_report_columns() }},
    _sync_id,
    _extracted_at
from hours
