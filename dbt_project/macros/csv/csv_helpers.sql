{#
    Columns shared by the daily and hourly CSV staging models: both parse a file row the same way.
    The importer (pipeline/connectors/csv_import.py) validated every value before loading, so the
    casts cannot fail: numbers are plain and non-negative, counts whole, ids non-empty, cells
    trimmed; an empty conversions or conversion_value cell means zero.
#}
{% macro csv_performance_columns(payload='payload') -%}
    {{ payload }} ->> 'campaign_id' as campaign_id,
    nullif({{ payload }} ->> 'ad_group_id', '') as ad_group_id,
    nullif({{ payload }} ->> 'account_name', '') as account_name,
    nullif({{ payload }} ->> 'campaign_name', '') as campaign_name,
    -- The generic format has no ad group name.
    null::text as ad_group_name,
    nullif({{ payload }} ->> 'ad_name', '') as ad_name,
    upper({{ payload }} ->> 'currency') as currency,
    ({{ payload }} ->> 'spend')::numeric as spend,
    ({{ payload }} ->> 'impressions')::numeric::bigint as impressions,
    ({{ payload }} ->> 'clicks')::numeric::bigint as clicks,
    coalesce(nullif({{ payload }} ->> 'conversions', '')::numeric, 0) as conversions,
    coalesce(nullif({{ payload }} ->> 'conversion_value', '')::numeric, 0) as conversion_value,
    {{ payload }} ->> '_file_name' as file_name,
    ({{ payload }} ->> '_line_number')::integer as file_line_number
{%- endmacro %}


{# Every imported row, daily and hourly, with its local day: what accounts and campaigns are derived from. #}
{% macro csv_file_rows() -%}
    select platform, account_id, "date" as date_day, payload, _extracted_at
    from {{ source('csv', 'ad_performance_daily') }}
    union all
    select platform, account_id, hour_start_local::date as date_day, payload, _extracted_at
    from {{ source('csv', 'ad_performance_hourly') }}
{%- endmacro %}


{# The value of `expression` on the newest row: latest import first, then latest day, then last line. #}
{% macro csv_latest(expression) -%}
    (array_agg({{ expression }} order by _extracted_at desc, date_day desc, (payload ->> '_line_number')::integer desc)
        filter (where {{ expression }} is not null))[1]
{%- endmacro %}
