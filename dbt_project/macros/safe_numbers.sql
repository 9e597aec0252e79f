{#
    Casts of the metrics a source sends as text, that never fail a model. A value that is no plain
    number numeric and double precision always hold (at most 40 characters, a two-digit exponent),
    or is 10^15 or more in size, becomes null instead of an error that would stop every platform's
    marts: the staging not_null tests then name the platform, account and rows (in the pipeline
    they warn, see dbt_project.yml). Missing or empty values are the caller's business.
    A CASE evaluates its branches in order, so no cast runs on text it rejected.
#}
{% macro plain_number_pattern() -%}
    '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]{1,2})?$'
{%- endmacro %}


{# The text as numeric, or null when it is empty or no safe plain number. #}
{% macro safe_number(text) -%}
    (case when length({{ text }}) <= 40 and ({{ text }}) ~ {{ plain_number_pattern() }} then
        case when abs(({{ text }})::numeric) < 1e15 then ({{ text }})::numeric end
    end)
{%- endmacro %}


{# A metric: missing or empty counts as zero; anything else must be a safe plain number (else null). #}
{% macro metric_number(text) -%}
    (case when nullif({{ text }}, '') is null then 0::numeric else {{ safe_number(text) }} end)
{%- endmacro %}


{# A count metric (bigint): as metric_number, rounded to whole. #}
{% macro metric_count(text) -%}
    round({{ metric_number(text) }})::bigint
{%- endmacro %}
