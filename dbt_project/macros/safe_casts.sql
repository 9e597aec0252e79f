{#
    Casts of text a platform sent that never fail a model: text that is not a valid value of the type
    becomes null (PostgreSQL 16's pg_input_is_valid), so one account's odd timestamp cannot stop every
    platform's marts. On PostgreSQL 15 (no pg_input_is_valid) the cast is plain.
#}
{% macro safe_cast(text, type) -%}
    {%- if adsignal_server_version_num() >= 160000 -%}
        (case when pg_input_is_valid({{ text }}, '{{ type }}') then ({{ text }})::{{ type }} end)
    {%- else -%}
        ({{ text }})::{{ type }}
    {%- endif -%}
{%- endmacro %}


{# The server's version number (e.g. 160002); 160000 while parsing. #}
{% macro adsignal_server_version_num() -%}
    {%- if not execute -%}
        {{ return(160000) }}
    {%- endif -%}
    {%- set result = run_query("select current_setting('server_version_num')::int") -%}
    {{ return(result.columns[0].values()[0]) }}
{%- endmacro %}
