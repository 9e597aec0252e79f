{#
    Ratios are computed from summed base metrics at each grain (never averaged across rows), and
    divide through nullif so a zero denominator yields null instead of an error or a fake zero.
#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }})::numeric / nullif(({{ denominator }})::numeric, 0)
{%- endmacro %}


{% macro performance_ratios(spend='spend', impressions='impressions', clicks='clicks', conversions='conversions', conversion_value='conversion_value') -%}
    {{ safe_divide(spend, clicks) }} as cpc,
    {{ safe_divide(spend ~ ' * 1000', impressions) }} as cpm,
    {{ safe_divide(clicks, impressions) }} as ctr,
    {{ safe_divide(spend, conversions) }} as cpa,
    {{ safe_divide(conversion_value, spend) }} as roas,
    {{ safe_divide(conversion_value ~ ' - ' ~ spend, spend) }} as roi
{%- endmacro %}
