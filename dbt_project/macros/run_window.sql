{#-
    The run's window of days, min_date..max_date (none when the run has none).

    From vars min_date/max_date when given on the command line (`dbt build --vars ...`), else from the
    environment the pipeline sets (ADSIGNAL_DBT_MIN_DATE / ADSIGNAL_DBT_MAX_DATE). The environment is
    read only when executing, never while parsing: every run has another window, and a changed --vars
    makes dbt re-parse the whole project (seconds per invocation, several invocations per run).
-#}
{% macro run_min_date() -%}
    {%- do return(_run_window_bound('min_date', 'ADSIGNAL_DBT_MIN_DATE')) -%}
{%- endmacro %}

{% macro run_max_date() -%}
    {%- do return(_run_window_bound('max_date', 'ADSIGNAL_DBT_MAX_DATE')) -%}
{%- endmacro %}

{% macro _run_window_bound(name, env_name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var(env_name, '') or none -%}
    {%- endif -%}
    {%- do return(value) -%}
{%- endmacro %}
