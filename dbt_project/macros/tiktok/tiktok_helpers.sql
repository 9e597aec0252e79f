{#
    TikTok-specific parsing helpers shared by the staging/tiktok models.
#}

{# A TikTok report metric as a number. Metrics arrive as JSON strings ("12.34", "1052") and "-"
   means empty (a ratio with a zero denominator, or no events of that kind on the row): empty,
   missing and "-" all count as zero. #}
{% macro tiktok_metric(metric, type='numeric') -%}
    {%- set text = "nullif(btrim(payload -> 'metrics' ->> '" ~ metric ~ "'), '-')" -%}
    {%- if type == 'bigint' %}{{ metric_count(text) }}{% else %}{{ metric_number(text) }}::{{ type }}{% endif -%}
{%- endmacro %}


{# TikTok entity times are UTC wall-clock text, "YYYY-MM-DD HH:MM:SS", without an offset. #}
{% macro tiktok_utc_time(text) -%}
    ({{ safe_cast("nullif(" ~ text ~ ", '')", "timestamp") }} at time zone 'UTC')
{%- endmacro %}


{# The report columns the daily and hourly staging models share, so both grains parse a row the
   same way (the hourly-vs-daily reconciliation relies on it). Ids and names come as attribute
   metrics. Conversions are the web "Complete Payment" events: `complete_payment` counts them and
   `total_complete_payment_rate` is their total value, despite its name. `conversion` is the ad
   group's optimisation event (a click for traffic ad groups), kept as optimization_events, never
   summed as conversions. #}
{% macro tiktok_report_columns() -%}
    payload -> 'metrics' ->> 'campaign_id' as campaign_id,
    -- House vocabulary: a TikTok ad group is an ad group.
    payload -> 'metrics' ->> 'adgroup_id' as ad_group_id,
    payload -> 'metrics' ->> 'campaign_name' as campaign_name,
    payload -> 'metrics' ->> 'adgroup_name' as ad_group_name,
    payload -> 'metrics' ->> 'ad_name' as ad_name,
    upper(nullif(payload -> 'metrics' ->> 'currency', '-')) as reported_currency,
    {{ tiktok_metric('spend') }} as spend,
    {{ tiktok_metric('impressions', 'bigint') }} as impressions,
    {{ tiktok_metric('clicks', 'bigint') }} as clicks,
    {{ tiktok_metric('conversion', 'bigint') }} as optimization_events,
    {{ tiktok_metric('complete_payment') }} as conversions,
    {{ tiktok_metric('total_complete_payment_rate') }} as conversion_value
{%- endmacro %}


{# Unified configured status of a campaign, ad group or ad: deleted (secondary status *_DELETE of
   the object itself) is REMOVED; otherwise the object's own operation_status. #}
{% macro tiktok_unified_status(operation_status, secondary_status, kind) -%}
    case
        when {{ secondary_status }} = '{{ kind }}_STATUS_DELETE' then 'REMOVED'
        when {{ operation_status }} = 'ENABLE' then 'ACTIVE'
        when {{ operation_status }} = 'DISABLE' then 'PAUSED'
    end
{%- endmacro %}
