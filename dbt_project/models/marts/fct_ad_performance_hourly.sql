{#-
    Hourly performance per ad for recent days. Incremental by local day (delete+insert on date_day),
    like fct_ad_performance_daily and honouring the same vars: Dagster passes the run's window as
    min_date/max_date; without them (plain `dbt build`) the window is the last lookback_days days
    before the current max date. Rebuilding whole days keeps the current (partial) day and restated
    hours converging.

    "Recent" (var hourly_retention_days, default 7): the local days from hourly_retention_start()
    on, i.e. the hourly_retention_days days ending with the newest day any hourly source holds.
    Only those days are inserted, and the post-hook deletes older ones, so the table stays small and
    a full refresh yields the same rows.
-#}
{%- set lookback_days = var('lookback_days') | int -%}
{%- if lookback_days < 0 -%}
    {{ exceptions.raise_compiler_error("var('lookback_days') must be >= 0, got " ~ lookback_days) }}
{%- endif -%}
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
            {'columns': ['hour_start_utc']},
            {'columns': ['tenant_id', 'platform', 'account_id', 'campaign_id', 'hour_start_utc']},
        ],
        post_hook="delete from {{ this }} where date_day < {{ hourly_retention_start() }}",
    )
}}

with performance as (
    select * from {{ ref('int_ad_performance_hourly__unioned') }}
    where date_day >= {{ hourly_retention_start() }}
    {% if is_incremental() and min_date and max_date %}
        and date_day between '{{ min_date }}'::date and '{{ max_date }}'::date
    {% elif is_incremental() %}
        and date_day >= coalesce(
            (select max(date_day) from {{ this }}) - {{ lookback_days }},
            '0001-01-01'::date
        )
    {% endif %}
),

-- Money in the reporting currency at the local day's rate, as in fct_ad_performance_daily (so an
-- ad's hours add up to its day in either currency). fx_rates_daily runs with the daily models and
-- covers a year ahead, so today's hours find their rate.
with_rates as (
    {{ rows_with_reporting_rates('performance') }}
)

select
    tenant_id,
    date_day,
    hour_of_day,
    hour_start_local,
    hour_start_utc,
    platform,
    -- Where the row came from: the platform's connector (source = platform) or an imported file ('csv').
    source,
    account_id,
    campaign_id,
    ad_group_id,
    ad_id,
    campaign_name,
    ad_group_name,
    ad_name,
    currency,
    spend,
    impressions,
    clicks,
    conversions,
    conversion_value,
    {{ performance_ratios() }},
    reporting_currency,
    fx_rate,
    round(spend * fx_rate, 6) as spend_reporting,
    round(conversion_value * fx_rate, 6) as conversion_value_reporting,
    _extracted_at
from with_rates
