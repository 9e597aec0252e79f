-- The campaign fact is a pure rollup of the ad fact: totals must match per tenant, platform and day (on a
-- windowed run, the window's days: the days the run rebuilt on both sides).
{{ config(meta={'dagster': {'ref': {'name': 'fct_campaign_performance_daily'}}}) }}
with ad_totals as (
    select tenant_id, platform, date_day, sum(spend) as spend, sum(conversions) as conversions,
        sum(conversion_value) as conversion_value, sum(impressions) as impressions, sum(clicks) as clicks
    from {{ ref('fct_ad_performance_daily') }}
    where {{ run_window_condition() }}
    group by tenant_id, platform, date_day
),

campaign_totals as (
    select tenant_id, platform, date_day, sum(spend) as spend, sum(conversions) as conversions,
        sum(conversion_value) as conversion_value, sum(impressions) as impressions, sum(clicks) as clicks
    from {{ ref('fct_campaign_performance_daily') }}
    where {{ run_window_condition() }}
    group by tenant_id, platform, date_day
)

select
    tenant_id,
    platform,
    date_day,
    ad_totals.spend as ad_spend,
    campaign_totals.spend as campaign_spend,
    ad_totals.conversions as ad_conversions,
    campaign_totals.conversions as campaign_conversions
from ad_totals
full outer join campaign_totals using (tenant_id, platform, date_day)
where ad_totals.spend is distinct from campaign_totals.spend
    or ad_totals.conversions is distinct from campaign_totals.conversions
    or ad_totals.conversion_value is distinct from campaign_totals.conversion_value
    or ad_totals.impressions is distinct from campaign_totals.impressions
    or ad_totals.clicks is distinct from campaign_totals.clicks
