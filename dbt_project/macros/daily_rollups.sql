{#-
    Shared by the daily rollups of fct_ad_performance_daily (ad group, campaign, account).

    daily_rollup_window(): the ad-fact rows an incremental run rebuilds: the days Dagster passes as
    min_date/max_date, or else the last var('lookback_days') days before the model's own newest day
    (and every newer day). A full refresh reads everything.

    summed_ad_metrics(): the additive measures of the ad fact summed to the rollup's grain, in account
    and reporting currency (one currency and one FX rate per account-day, hence max()).
-#}
{% macro daily_rollup_window() -%}
    {%- set min_date = run_min_date() -%}
    {%- set max_date = run_max_date() -%}
    {%- if is_incremental() and min_date and max_date -%}
    where date_day between '{{ min_date }}'::date and '{{ max_date }}'::date
    {%- elif is_incremental() -%}
    where date_day >= coalesce(
        (select max(date_day) from {{ this }}) - {{ var('lookback_days') | int }},
        '0001-01-01'::date
    )
    {%- endif -%}
{%- endmacro %}

{% macro summed_ad_metrics() -%}
        max(currency) as currency,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value,
        max(reporting_currency) as reporting_currency,
        max(fx_rate) as fx_rate,
        sum(spend_reporting) as spend_reporting,
        sum(conversion_value_reporting) as conversion_value_reporting
{%- endmacro %}
