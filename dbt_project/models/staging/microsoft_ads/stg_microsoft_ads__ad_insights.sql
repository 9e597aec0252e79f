with source as (
    select * from {{ source('microsoft_ads', 'ads_insights_daily') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    -- The report's TimePeriod ("yyyy-mm-dd"), a local day in the account's time zone.
    report_date as date_day,
    -- Shared with stg_microsoft_ads__ad_insights_hourly: both grains parse a row the same way.
    {{ microsoft_ads_report_columns() }},
    _sync_id,
    _extracted_at
from source
