{#
    Generic tests read only the run's window on incremental runs. When Dagster passes
    vars min_date/max_date (and the run is not a full refresh), a tested relation with a date_day
    column is filtered to those days: the rows the run rewrote are tested, not the whole history,
    so the daily run's test cost follows the window. Full refreshes and runs without the vars test
    every row. A test's own `where` config still applies (and-ed).
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set min_date = var('min_date', none) -%}
    {%- set max_date = var('max_date', none) -%}
    {%- if execute and min_date and max_date and not flags.FULL_REFRESH -%}
        {%- set column_names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {%- if 'date_day' in column_names -%}
            {%- do conditions.append("date_day between '" ~ min_date ~ "'::date and '" ~ max_date ~ "'::date") -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
