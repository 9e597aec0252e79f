with source as (
    select * from {{ source('linkedin', 'ads_insights_daily') }}
),

-- adAnalytics carries creative ids only: names, campaigns and currency come from the entities.
creatives as (
    select account_id, ad_id, campaign_id, ad_name from {{ ref('stg_linkedin__creatives') }}
),

campaigns as (
    select account_id, campaign_id, campaign_name from {{ ref('stg_linkedin__campaigns') }}
),

accounts as (
    select account_id, currency from {{ ref('stg_linkedin__ad_accounts') }}
)

select
    source.account_id,
    source.creative_id as ad_id,
    -- A UTC day (dateRange.start; DAILY granularity).
    source.report_date as date_day,
    creatives.campaign_id,
    null::text as ad_group_id,
    campaigns.campaign_name,
    null::text as ad_group_name,
    creatives.ad_name,
    accounts.currency,
    -- Money arrives as decimal strings in the account currency; counts as numbers.
    {{ metric_number("source.payload ->> 'costInLocalCurrency'") }} as spend,
    {{ metric_count("source.payload ->> 'impressions'") }} as impressions,
    {{ metric_count("source.payload ->> 'clicks'") }} as clicks,
    {{ metric_number("source.payload ->> 'externalWebsiteConversions'") }} as conversions,
    {{ metric_number("source.payload ->> 'conversionValueInLocalCurrency'") }} as conversion_value,
    source._sync_id,
    source._extracted_at
from source
left join creatives
    on source.account_id = creatives.account_id
    and source.creative_id = creatives.ad_id
left join campaigns
    on creatives.account_id = campaigns.account_id
    and creatives.campaign_id = campaigns.campaign_id
left join accounts
    on source.account_id = accounts.account_id
