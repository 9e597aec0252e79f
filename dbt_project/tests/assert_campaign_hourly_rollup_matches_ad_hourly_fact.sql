-- The hourly campaign fact is a pure rollup of the hourly ad fact: totals must match per platform
-- and hour (and both must hold the same days, the retention window).
{{ config(meta={'dagster': {'ref': {'name': 'fct_campaign_performance_hourly'}}}) }}
with ad_totals as (
    select tenant_id, platform, hour_start_utc, sum(spend) as spend, sum(conversions) as conversions,
        sum(conversion_value) as conversion_value, sum(impressions) as impressions, sum(clicks) as clicks
    from {{ ref('fct_ad_performance_hourly') }}
    group by tenant_id, platform, hour_start_utc
),

campaign_totals as (
    select tenant_id, platform, hour_start_utc, sum(spend) as spend, sum(conversions) as conversions,
        sum(conversion_value) as conversion_value, sum(impressions) as impressions, sum(clicks) as clicks
    from {{ ref('fct_campaign_performance_hourly') }}
    group by tenant_id, platform, hour_start_utc
)

select
    tenant_id,
    platform,
    hour_start_utc,
    ad_totals.spend as ad_spend,
    campaign_totals.spend as campaign_spend,
    ad_totals.conversions as ad_conversions,
    campaign_totals.conversions as campaign_conversions
from ad_totals
full outer join campaign_totals using (tenant_id, platform, hour_start_utc)
where ad_totals.spend is distinct from campaign_totals.spend
    or ad_totals.conversions is distinct from campaign_totals.conversions
    or ad_totals.conversion_value is distinct from campaign_totals.conversion_value
    or ad_totals.impressions is distinct from campaign_totals.impressions
    or ad_totals.clicks is distinct from campaign_totals.clicks
