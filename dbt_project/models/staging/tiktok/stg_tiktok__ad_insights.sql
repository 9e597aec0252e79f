with source as (
    select * from {{ source('tiktok', 'ads_insights_daily') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    stat_time_day as date_day,
    -- Shared with stg_tiktok__ad_insights_hourly: both grains parse a row the same way.
    {{ tiktok_report_columns() }},
    {{ tiktok_metric('reach', 'bigint') }} as reach,
    _sync_id,
    _extracted_at
from source
