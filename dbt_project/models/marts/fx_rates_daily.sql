{#-
    One rate per day and currency into the reporting currency (var('reporting_currency'), default
    USD): rate_to_reporting = reporting-currency units per 1 unit of `currency`. Rates come from
    the seed fx_rates (or, with var('fx_rates_source') set, from that source table: see
    dbt_project/README.md), as units per USD effective from rate_date; days without a rate of
    their own take the latest earlier one (forward-fill: weekends, holidays, a late feed) and days
    before a currency's first rate take that first rate. Cross rates go through USD.
-#}
{%- set reporting_currency = var('reporting_currency') | upper -%}

{{
    config(
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

calendar as (
    select day::date as date_day
    from generate_series(
        least((select min(rate_date) from rates), '{{ var("fx_calendar_start") }}'::date),
        greatest((select max(rate_date) from rates), current_date + 366),
        interval '1 day'
    ) as day
),

currencies as (
    select currency, min(rate_date) as first_rate_date from rates group by currency
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
