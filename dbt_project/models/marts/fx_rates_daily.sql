{#-
    One rate per day and currency into the reporting currency (var('reporting_currency'), default
    USD): rate_to_reporting = reporting-currency units per 1 unit of `currency`. Rates come from
    the seed fx_rates (or, with var('fx_rates_source') set, from that source table: see
    dbt_project/README.md), as units per USD effective from rate_date; days without a rate of
    their own take the latest earlier one (forward-fill: weekends, holidays, a late feed) and days
    before a currency's first rate take that first rate. Cross rates go through USD.

    Incremental: the table only grows by the days the calendar gained (it runs a year ahead of
    today) unless a rate changed. Each rate's own day is compared with the stored row (a new,
    changed or removed rate, or another reporting currency, shows there); then every day is rebuilt.
    A change of var('fx_calendar_start') needs a full refresh.
-#}
{%- set reporting_currency = var('reporting_currency') | upper -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='date_day',
        on_schema_change='fail',
        indexes=[{'columns': ['currency', 'date_day'], 'unique': True}],
    )
}}

with rates as (
    select rate_date::date as rate_date, upper(currency) as currency, units_per_usd::numeric as units_per_usd
    {% if var('fx_rates_source', none) %}
    from {{ source('fx', 'rates') }}
    {% else %}
    from {{ ref('fx_rates') }}
    {% endif %}
    where units_per_usd > 0
),

currencies as (
    select currency, min(rate_date) as first_rate_date from rates group by currency
),

calendar_bounds as (
    select
        least((select min(rate_date) from rates), '{{ var("fx_calendar_start") }}'::date) as first_day,
        greatest((select max(rate_date) from rates), current_date + 366) as last_day
),

{% if is_incremental() %}
-- Each rate on its own day as this table shows it (not filled): reporting-currency units in force
-- that day over the rate's units.
rate_days as (
    select
        rates.currency,
        rates.rate_date,
        reporting.units_per_usd / rates.units_per_usd as rate_to_reporting
    from rates
    cross join lateral (
        select reporting_rates.units_per_usd
        from rates as reporting_rates
        inner join currencies on currencies.currency = reporting_rates.currency
        where reporting_rates.currency = '{{ reporting_currency }}'
            and reporting_rates.rate_date <= greatest(rates.rate_date, currencies.first_rate_date)
        order by reporting_rates.rate_date desc
        limit 1
    ) as reporting
),

stored_rate_days as (
    select currency, rate_date, rate_to_reporting from {{ this }} where not is_filled
),

changed_rates as (
    (select * from rate_days except select * from stored_rate_days)
    union all
    (select * from stored_rate_days except select * from rate_days)
),

built_days as (
    select case
        when exists (select 1 from changed_rates) then calendar_bounds.first_day
        else coalesce((select max(date_day) + 1 from {{ this }}), calendar_bounds.first_day)
    end as first_day
    from calendar_bounds
),
{% endif %}

calendar as (
    select day::date as date_day
    from calendar_bounds
    {% if is_incremental() %}cross join built_days{% endif %}
    cross join generate_series(
        {% if is_incremental() %}built_days.first_day{% else %}calendar_bounds.first_day{% endif %},
        calendar_bounds.last_day,
        interval '1 day'
    ) as day
),

-- The rate in force on each day: the latest rate_date on or before it, else the first one.
daily as (
    select
        calendar.date_day,
        currencies.currency,
        effective.rate_date,
        effective.units_per_usd
    from calendar
    cross join currencies
    cross join lateral (
        select rates.rate_date, rates.units_per_usd
        from rates
        where rates.currency = currencies.currency
            and rates.rate_date <= greatest(calendar.date_day, currencies.first_rate_date)
        order by rates.rate_date desc
        limit 1
    ) as effective
)

select
    daily.date_day,
    daily.currency,
    '{{ reporting_currency }}'::text as reporting_currency,
    reporting.units_per_usd / daily.units_per_usd as rate_to_reporting,
    daily.rate_date,
    daily.rate_date <> daily.date_day as is_filled
from daily
inner join daily as reporting
    on reporting.date_day = daily.date_day
    and reporting.currency = '{{ reporting_currency }}'
