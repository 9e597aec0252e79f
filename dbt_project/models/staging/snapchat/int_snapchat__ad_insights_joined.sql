-- Snap's stats carry ids only: names, parents and currency come from the entity snapshots.
with insights as (
    select * from {{ ref('stg_snapchat__ad_insights') }}
),

ads as (
    select tenant_id, account_id, ad_id, campaign_id, ad_group_id, ad_name from {{ ref('int_snapchat__ads_joined') }}
),

ad_squads as (
    select tenant_id, account_id, ad_group_id, ad_group_name from {{ ref('stg_snapchat__ad_squads') }}
),

campaigns as (
    select tenant_id, account_id, campaign_id, campaign_name from {{ ref('stg_snapchat__campaigns') }}
),

accounts as (
    select tenant_id, account_id, account_name, currency from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    insights.tenant_id,
    insights.account_id,
    insights.ad_id,
    insights.date_day,
    ads.campaign_id,
    ads.ad_group_id,
    accounts.account_name,
    campaigns.campaign_name,
    ad_squads.ad_group_name,
    ads.ad_name,
    accounts.currency,
    insights.spend,
    insights.impressions,
    insights.clicks,
    insights.conversions,
    insights.conversion_value,
    insights.attribution_setting,
    insights.finalized_data_end_time,
    insights.is_finalized,
    insights._sync_id,
    insights._extracted_at
from insights
left join ads
    on insights.tenant_id = ads.tenant_id
    and insights.account_id = ads.account_id
    and insights.ad_id = ads.ad_id
left join ad_squads
    on ads.tenant_id = ad_squads.tenant_id
    and ads.account_id = ad_squads.account_id
    and ads.ad_group_id = ad_squads.ad_group_id
left join campaigns
    on ads.tenant_id = campaigns.tenant_id
    and ads.account_id = campaigns.account_id
    and ads.campaign_id = campaigns.campaign_id
left join accounts
    on insights.tenant_id = accounts.tenant_id
    and insights.account_id = accounts.account_id
-- Idle ad-days (all stats zero) are left out, as every platform leaves them out.
where insights.has_activity
