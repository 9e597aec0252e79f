with source as (
    select * from {{ source('linkedin', 'ads_insights_daily') }}
)

select
    tenant_id,
    account_id,
    creative_id as ad_id,
    -- A UTC day (dateRange.start; DAILY granularity).
    report_date as date_day,
    -- Money arrives as decimal strings in the account currency; counts as numbers.
    {{ metric_number("payload ->> 'costInLocalCurrency'") }} as spend,
    {{ metric_count("payload ->> 'impressions'") }} as impressions,
    {{ metric_count("payload ->> 'clicks'") }} as clicks,
    {{ metric_number("payload ->> 'externalWebsiteConversions'") }} as conversions,
    {{ metric_number("payload ->> 'conversionValueInLocalCurrency'") }} as conversion_value,
    _sync_id,
    _extracted_at
from source
