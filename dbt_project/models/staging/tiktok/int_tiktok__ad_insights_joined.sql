-- TikTok's daily report rows with the advertiser's name and currency.
with insights as (
    select * from {{ ref('stg_tiktok__ad_insights') }}
),

accounts as (
    select tenant_id, account_id, account_name, currency from {{ ref('stg_tiktok__ad_accounts') }}
)

select
    insights.tenant_id,
    insights.account_id,
    insights.ad_id,
    insights.date_day,
    insights.campaign_id,
    insights.ad_group_id,
    accounts.account_name,
    insights.campaign_name,
    insights.ad_group_name,
    insights.ad_name,
    -- The row's own currency attribute, else the advertiser's (they are the same currency).
    coalesce(insights.reported_currency, accounts.currency) as currency,
    insights.spend,
    insights.impressions,
    insights.clicks,
    insights.reach,
    insights.optimization_events,
    insights.conversions,
    insights.conversion_value,
    insights._sync_id,
    insights._extracted_at
from insights
left join accounts
    on insights.tenant_id = accounts.tenant_id
    and insights.account_id = accounts.account_id
