with source as (
    select * from {{ source('snapchat', 'ads_insights_daily') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    start_date as date_day,
    -- Shared with stg_snapchat__ad_insights_hourly: both grains parse a record the same way.
    {{ snapchat_stats_columns('payload') }},
    -- The windows the connector requested, as Snap echoes them (e.g. 28_DAY, 1_DAY).
    payload ->> 'swipe_up_attribution_window' as swipe_up_attribution_window,
    payload ->> 'view_attribution_window' as view_attribution_window,
    -- Idle ad-days (all stats zero) stay here; int_snapchat__ad_insights_joined leaves them out.
    {{ snapchat_stats_have_activity('payload') }} as has_activity,
    _sync_id,
    _extracted_at
from source
