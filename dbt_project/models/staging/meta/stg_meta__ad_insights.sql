with source as (
    select * from {{ source('meta', 'ads_insights_daily') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    date_start as date_day,
    -- Shared with stg_meta__ad_insights_hourly: both grains parse a record the same way.
    {{ meta_insights_columns(with_reach=true) }},
    _sync_id,
    _extracted_at
from source
