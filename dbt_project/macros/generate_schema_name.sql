{#
    Use a model's custom schema verbatim (staging, intermediate, marts) instead of dbt's default
    "<target schema>_<custom schema>", so every environment sees the same schema names the rest
    of adsignal queries. Models without a custom schema fall back to the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
