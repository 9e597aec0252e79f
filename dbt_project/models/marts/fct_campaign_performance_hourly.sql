{#-
    Hourly performance per campaign for recent days, rolled up from fct_ad_performance_hourly (so it
    holds the same days: see that model for what "recent" means). Incremental by local day
    (delete+insert on date_day) over the same window vars (min_date/max_date, else lookback_days);
    the post-hook drops days that left the retention window.
-#}
{%- set lookback_days = var('lookback_days') | int -%}
{%- set min_date = run_min_date() -%}
{%- set max_date = run_max_date() -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='date_day',
        partition_by_month='date_day',
        on_schema_change='fail',
        indexes=[
            {'columns': ['date_day']},
            {'columns': ['tenant_id', 'platform', 'account_id', 'campaign_id', 'hour_start_utc']},
        ],
        post_hook="delete from {{ this }} where date_day < {{ hourly_retention_start() }}",
    )
}}

with ad_performance as (
    select * from {{ ref('fct_ad_performance_hourly') }}
    {% if is_incremental() and min_date and max_date %}
    where date_day between '{{ min_date }}'::date and '{{ max_date }}'::date
    {% elif is_incremental() %}
    where date_day >= coalesce(
        (select max(date_day) from {{ this }}) - {{ lookback_days }},
        '0001-01-01'::date
    )
    {% endif %}
),

rolled_up as (
    select
        tenant_id,
        date_day,
        hour_of_day,
        hour_start_local,
        hour_start_utc,
        platform,
        -- One source per account-day (the unions prefer the connector), so grouping by it never
        -- splits a campaign-hour; if that ever broke, the grain test would say so.
        source,
        account_id,
        campaign_id,
        -- The name reported with the hours: the hourly facts stay within the hourly lineage (no
        -- dependency on the daily-built dimensions), and a campaign that started today has one.
        max(campaign_name) as campaign_name,
        max(currency) as currency,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value,
        max(reporting_currency) as reporting_currency,
        max(fx_rate) as fx_rate,
        sum(spend_reporting) as spend_reporting,
        sum(conversion_value_reporting) as conversion_value_reporting,
        count(*) as reporting_ad_count,
        max(_extracted_at) as _extracted_at
    from ad_performance
    group by tenant_id, date_day, hour_of_day, hour_start_local, hour_start_utc, platform, source, account_id, campaign_id
)

select
    rolled_up.tenant_id,
    rolled_up.date_day,
    rolled_up.hour_of_day,
    rolled_up.hour_start_local,
    rolled_up.hour_start_utc,
    rolled_up.platform,
    rolled_up.source,
    rolled_up.account_id,
    rolled_up.campaign_id,
    rolled_up.campaign_name,
    rolled_up.currency,
    rolled_up.spend,
    rolled_up.impressions,
    rolled_up.clicks,
    rolled_up.conversions,
    rolled_up.conversion_value,
    {{ performance_ratios(
        spend='rolled_up.spend',
        impressions='rolled_up.impressions',
        clicks='rolled_up.clicks',
        conversions='rolled_up.conversions',
        conversion_value='rolled_up.conversion_value',
    ) }},
    rolled_up.reporting_currency,
    rolled_up.fx_rate,
    rolled_up.spend_reporting,
    rolled_up.conversion_value_reporting,
    rolled_up.reporting_ad_count,
    rolled_up._extracted_at
from rolled_up
