with source as (
    select * from {{ source('meta', 'ads_insights_hourly') }}
),

-- Meta labels hours on the account's clock; its IANA timezone turns them into instants. Read
-- from the raw account snapshot (as stg_meta__ad_accounts does) rather than from that model, so the
-- hourly models build on their own, intraday, without the daily models having run.
accounts as (
    select account_id, payload ->> 'timezone_name' as timezone from {{ source('meta', 'ad_accounts') }}
),

hours as (
    select
        source.*,
        -- "HH:00:00 - HH:59:59": the local clock hour the row covers.
        left(source.hourly_stats_aggregated_by_advertiser_time_zone, 2)::integer as hour_of_day
    from source
)

select
    hours.account_id,
    hours.ad_id,
    hours.date_start as date_day,
    hours.hour_of_day,
    hours.date_start + make_interval(hours => hours.hour_of_day) as hour_start_local,
    {{ local_hour_start_to_utc('hours.date_start + make_interval(hours => hours.hour_of_day)', 'accounts.timezone') }}
        as hour_start_utc,
    hours.hourly_stats_aggregated_by_advertiser_time_zone as platform_hour_label,
    -- Shared with stg_meta__ad_insights: both grains parse a record the same way (no reach per hour).
    {{ meta_insights_columns('hours.payload', with_reach=false) }},
    hours._sync_id,
    hours._extracted_at
from hours
left join accounts
    on hours.account_id = accounts.account_id
