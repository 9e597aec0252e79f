{#
    Union one conformed entity across every platform listed in var('platform_staging_models').

    `entity` names the entry to read from each platform (e.g. 'campaigns'); `columns` is the
    conformed contract as (name, postgres type) pairs. Every platform's staging model must expose
    these names; the casts pin one type per column so a platform cannot widen the union silently,
    and a missing column fails at run time with the platform's model named in the error.
#}
{% macro union_platform_models(entity, columns) -%}
    {%- set platform_models = var('platform_staging_models') -%}
    {%- set sources = [] -%}
    {%- for platform in platform_models | sort -%}
        {%- if entity in platform_models[platform] -%}
            {%- do sources.append((platform, platform_models[platform][entity])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if sources | length == 0 -%}
        {{ exceptions.raise_compiler_error("No platform in var('platform_staging_models') provides '" ~ entity ~ "'") }}
    {%- endif -%}
    {%- for platform, model_name in sources %}
select
    '{{ platform }}'::text as platform,
    {%- for column_name, column_type in columns %}
    {{ column_name }}::{{ column_type }} as {{ column_name }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ ref(model_name) }}
{% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
