{#
    Union one conformed entity across every source of rows: each connector's staging models (from
    the platform registry, pipeline/platforms.py, via env ADSIGNAL_PLATFORM_STAGING_MODELS; see
    platform_staging_models below) and the file imports' (var('file_staging_models')).

    `entity` names the entry to read from each one (e.g. 'campaigns'); `columns` is the conformed
    contract as (name, postgres type) pairs. Every staging model must expose these names; the casts
    pin one type per column so a source cannot widen the union silently, and a missing column
    fails at run time with the model named in the error.

    Each entry is a *source* of rows: a platform's connector (meta, google_ads, ...) or a file
    import (csv). The union adds two columns:
    - `platform`: the ad platform the row belongs to. The entry's name, or, when the entry says
      `platform_column: <column>`, that column of its staging model (a CSV file names the platform
      of every row: linkedin, pinterest, even meta).
    - `source`: the entry's name, i.e. where the row came from ('csv' for imported files).

    A platform's connector is authoritative for that platform. When an entry with a
    platform_column claims a platform whose connector also has rows for the same unit, the file's
    rows of that unit are left out, so nothing is counted twice and no unit mixes two sources. Every
    unit starts with tenant_id: only the same tenant's connector rows leave a file's rows out (two
    tenants may hold the same ids). The unit per entity is below (daily/hourly performance: the
    tenant's account-day, so a day's account total never adds a file's ads to the API's);
    `one_source_per` overrides it (callers name tenant_id first too). `prefer_connectors=false`
    returns every row (tests use it to report what was left out).

    Only staging relations that exist are read: a warehouse that only ever imported files has no
    connector staging views until a run builds them (an import rebuilds what the files feed, not
    every connector's staging), and it must still get its marts. Within one `dbt build` a staging
    model runs before the unions that ref it, so a run that selects both always reads it. With no
    relation at all the union is empty but keeps its columns and types.
#}
{% macro union_platform_models(entity, columns, one_source_per=none, prefer_connectors=true) -%}
    {%- set platform_models = platform_staging_models() -%}
    {%- set units_by_entity = {
        'ad_accounts': ['tenant_id', 'platform', 'account_id'],
        'campaigns': ['tenant_id', 'platform', 'account_id', 'campaign_id'],
        'ad_performance_daily': ['tenant_id', 'platform', 'account_id', 'date_day'],
        'ad_performance_hourly': ['tenant_id', 'platform', 'account_id', 'date_day'],
    } -%}
    {%- set unit = one_source_per or units_by_entity.get(entity) -%}
    {%- set entries = [] -%}
    {%- set state = namespace(has_file_sources=false) -%}
    {%- for source_name in platform_models | sort -%}
        {%- set entry = platform_models[source_name] -%}
        {%- if entity in entry -%}
            {%- do entries.append((source_name, entry[entity], entry.get('platform_column'))) -%}
            {%- if entry.get('platform_column') -%}
                {%- set state.has_file_sources = true -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if entries | length == 0 -%}
        {{ exceptions.raise_compiler_error("No source of rows (platform_staging_models()) provides '" ~ entity ~ "'") }}
    {%- endif -%}
    {%- set apply_precedence = prefer_connectors and state.has_file_sources and unit -%}

    {%- set present = [] -%}
    {%- for source_name, model_name, platform_column in entries -%}
        {#- At parse time (execute is false) every ref is kept so the DAG holds every staging model. -#}
        {%- if not execute or load_relation(ref(model_name)) is not none -%}
            {%- do present.append((source_name, model_name, platform_column)) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- set union_sql -%}
    {%- if present | length == 0 %}
select
    null::text as platform,
    null::text as source,
    {%- for column_name, column_type in columns %}
    null::{{ column_type }} as {{ column_name }}{{ "," if not loop.last }}
    {%- endfor %}
where false
    {%- endif %}
    {%- for source_name, model_name, platform_column in present %}
select
    {% if platform_column %}{{ platform_column }}::text{% else %}'{{ source_name }}'::text{% endif %} as platform,
    '{{ source_name }}'::text as source,
    {%- for column_name, column_type in columns %}
    {{ column_name }}::{{ column_type }} as {{ column_name }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ ref(model_name) }}
{% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- endset -%}

    {%- if apply_precedence %}
with unioned as not materialized (
{{ union_sql }}
)

select *
from unioned
-- A connector's own rows (source = platform) always stay; a file's stay unless that platform's
-- connector has the same unit.
where unioned.source = unioned.platform
    or not exists (
        select 1
        from unioned as connector_rows
        where connector_rows.source = connector_rows.platform
            {%- for column_name in unit %}
            and connector_rows.{{ column_name }} = unioned.{{ column_name }}
            {%- endfor %}
    )
    {%- else %}
{{ union_sql }}
    {%- endif %}
{%- endmacro %}


{#
    Every source of rows -> {conformed entity: staging model}: the connectors' from the platform
    registry (JSON in env ADSIGNAL_PLATFORM_STAGING_MODELS, set by adsignal for every dbt run) plus
    var('file_staging_models'). A run without the variable stops here: building the unions from the
    files alone would drop every connector's rows without a word.
#}
{% macro platform_staging_models() -%}
    {%- set registry_json = env_var('ADSIGNAL_PLATFORM_STAGING_MODELS', '') -%}
    {%- if not registry_json -%}
        {{ exceptions.raise_compiler_error(
            "ADSIGNAL_PLATFORM_STAGING_MODELS is not set: run dbt through adsignal, or first "
            ~ "eval the output of `python -m pipeline.platforms` (the connectors' staging models come from the platform registry)"
        ) }}
    {%- endif -%}
    {%- set models = {} -%}
    {%- do models.update(fromjson(registry_json)) -%}
    {%- do models.update(var('file_staging_models')) -%}
    {{ return(models) }}
{%- endmacro %}
