with source as (
    select * from {{ source('meta', 'ads_insights_hourly') }}
),

hours as (
    select
        source.*,
        -- "HH:00:00 - HH:59:59": the local clock hour the row covers.
        left(source.hourly_stats_aggregated_by_advertiser_time_zone, 2)::integer as hour_of_day
    from source
)

select
    hours.tenant_id,
    hours.account_id,
    hours.ad_id,
    hours.date_start as date_day,
    hours.hour_of_day,
    -- On the account's clock; int_meta__ad_insights_hourly_joined turns it into an instant.
    hours.date_start + make_interval(hours => hours.hour_of_day) as hour_start_local,
    hours.hourly_stats_aggregated_by_advertiser_time_zone as platform_hour_label,
    -- Shared with stg_meta__ad_insights: both grains parse a record the same way (no reach per hour).
    {{ meta_insights_columns('hours.payload', with_reach=false) }},
    hours._sync_id,
    hours._extracted_at
from hours
