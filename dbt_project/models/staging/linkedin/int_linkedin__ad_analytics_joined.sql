-- adAnalytics carries creative ids only: names, campaigns and currency come from the entities.
with analytics as (
    select * from {{ ref('stg_linkedin__ad_analytics') }}
),

creatives as (
    select tenant_id, account_id, ad_id, campaign_id, ad_name from {{ ref('stg_linkedin__creatives') }}
),

campaigns as (
    select tenant_id, account_id, campaign_id, campaign_name from {{ ref('stg_linkedin__campaigns') }}
),

accounts as (
    select tenant_id, account_id, currency from {{ ref('stg_linkedin__ad_accounts') }}
)

select
    analytics.tenant_id,
    analytics.account_id,
    analytics.ad_id,
    analytics.date_day,
    creatives.campaign_id,
    null::text as ad_group_id,
    campaigns.campaign_name,
    null::text as ad_group_name,
    creatives.ad_name,
    accounts.currency,
    analytics.spend,
    analytics.impressions,
    analytics.clicks,
    analytics.conversions,
    analytics.conversion_value,
    analytics._sync_id,
    analytics._extracted_at
from analytics
left join creatives
    on analytics.tenant_id = creatives.tenant_id
    and analytics.account_id = creatives.account_id
    and analytics.ad_id = creatives.ad_id
left join campaigns
    on creatives.tenant_id = campaigns.tenant_id
    and creatives.account_id = campaigns.account_id
    and creatives.campaign_id = campaigns.campaign_id
left join accounts
    on analytics.tenant_id = accounts.tenant_id
    and analytics.account_id = accounts.account_id
