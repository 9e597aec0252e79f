with source as (
    select * from {{ source('tiktok', 'ads_insights_hourly') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    stat_time_day as date_day,
    extract(hour from stat_time_hour::timestamp)::integer as hour_of_day,
    -- "YYYY-MM-DD HH:00:00": the local clock hour the row covers, on the advertiser's clock;
    -- int_tiktok__ad_insights_hourly_joined turns it into an instant.
    stat_time_hour::timestamp as hour_start_local,
    stat_time_hour as platform_hour_label,
    -- Shared with stg_tiktok__ad_insights: both grains parse a row the same way (no reach per hour).
    {{ tiktok_report_columns() }},
    _sync_id,
    _extracted_at
from source
