{#-
    Daily performance per ad account, rolled up from fct_ad_performance_daily. Incremental like the
    ad fact (delete+insert on date_day): a run rebuilds the days between var('min_date') and
    var('max_date') that Dagster passes, or else the last var('lookback_days') days before its own
    newest day (and every newer day of the ad fact); a full refresh yields the same rows.
-#}
{%- set lookback_days = var('lookback_days') | int -%}
{%- set min_date = var('min_date', none) -%}
{%- set max_date = var('max_date', none) -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='date_day',
        on_schema_change='fail',
        indexes=[
            {'columns': ['date_day']},
            {'columns': ['platform', 'account_id', 'date_day']},
        ],
    )
}}

with ad_performance as (
    select * from {{ ref('fct_ad_performance_daily') }}
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
        date_day,
        platform,
        -- One source per account-day (the unions prefer the connector): grouping by it never splits.
        source,
        account_id,
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
        count(distinct campaign_id) as reporting_campaign_count,
        count(*) as reporting_ad_count,
        max(_extracted_at) as _extracted_at
    from ad_performance
    group by date_day, platform, source, account_id
)

select
    date_day,
    platform,
    source,
    account_id,
    currency,
    spend,
    impressions,
    clicks,
    conversions,
    conversion_value,
    {{ performance_ratios() }},
    reporting_currency,
    fx_rate,
    spend_reporting,
    conversion_value_reporting,
    reporting_campaign_count,
    reporting_ad_count,
    _extracted_at
from rolled_up
