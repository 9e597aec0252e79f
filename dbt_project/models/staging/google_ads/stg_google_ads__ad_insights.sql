with source as (
    select * from {{ source('google_ads', 'ads_insights_daily') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    segments_date as date_day,
    -- Shared with stg_google_ads__ad_insights_hourly: both grains parse a row the same way.
    {{ google_ads_insights_columns('payload') }},
    _sync_id,
    _extracted_at
from source
