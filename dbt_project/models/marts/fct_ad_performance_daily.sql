{#-
    Incremental by day (delete+insert on date_day): platforms restate recent days, so each run
    rebuilds a window of days. Dagster passes the run's window min_date/max_date (the days
    it just re-synced); without them (plain `dbt build`) the window is the last lookback_days days
    before the current max date. A full refresh builds the same rows.
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
            {'columns': ['tenant_id', 'platform', 'account_id', 'campaign_id', 'date_day']},
        ],
        post_hook=[
            """
            -- The ad index the last-seen state probes (ads_last_seen_in_performance): created here,
            -- not in `indexes`, because dbt creates those only when it builds the table, and
            -- warehouses built before it need it too.
            do $$
            begin
                if not exists (
                    select 1 from pg_indexes
                    where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}'
                        and indexdef like '%(tenant_id, platform, account_id, ad_id, date_day)'
                ) then
                    create index on {{ this }} (tenant_id, platform, account_id, ad_id, date_day);
                end if;
            end
            $$
            """,
        ],
    )
}}

with performance as (
    select * from {{ ref('int_ad_performance_daily__unioned') }}
    {% if is_incremental() and min_date and max_date %}
    where date_day between '{{ min_date }}'::date and '{{ max_date }}'::date
    {% elif is_incremental() %}
    where date_day >= coalesce(
        (select max(date_day) from {{ this }}) - {{ lookback_days }},
        '0001-01-01'::date
    )
    {% endif %}
),

-- Money in the tenant's reporting currency at the day's rate of the account currency.
with_rates as (
    {{ rows_with_reporting_rates('performance') }}
)

select
    tenant_id,
    date_day,
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
