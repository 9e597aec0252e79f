{#
    Use a model's custom schema verbatim (staging, intermediate, marts) instead of dbt's default
    "<target schema>_<custom schema>", so every environment sees the same schema names the rest
    of adsignal queries. Models without a custom schema fall back to the target schema.

    An `int_` model is intermediate wherever it lives: a platform's own join models
    (int_<platform>__<entity>_joined) sit in its staging folder, so adding a platform stays one
    folder, but build next to the unions in `intermediate`. Schema `staging` holds only the views
    that are 1:1 with a source table.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if node is not none and node.resource_type == 'model' and node.name.startswith('int_') -%}
        intermediate
    {%- elif custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
