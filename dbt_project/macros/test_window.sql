{#
    Generic tests read only the run's window on incremental runs. When Dagster passes
    vars min_date/max_date (and the run is not a full refresh), a tested relation with a date_day
    column is filtered to those days: the rows the run rewrote are tested, not the whole history,
    so the daily run's test cost follows the window. Full refreshes and runs without the vars test
    every row. A test's own `where` config still applies (and-ed).

    Whether the relation has a date_day column comes from the manifest (its documented columns:
    every mart documents all of its columns); only a relation the manifest does not describe costs
    a catalog query, so a run does not pay one query per test.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if execute and run_window_applies() and _relation_has_date_day(relation) -%}
        {%- do conditions.append(run_window_condition()) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro _relation_has_date_day(relation) -%}
    {%- set rendered = relation | string -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type in ('model', 'seed', 'snapshot') and node.relation_name == rendered and node.columns -%}
            {%- do return('date_day' in node.columns) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set column_names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- do return('date_day' in column_names) -%}
{%- endmacro %}

{#- True when this run rebuilds a window of days (Dagster's vars min_date/max_date, no full refresh). -#}
{% macro run_window_applies() -%}
    {%- do return(run_min_date() and run_max_date() and not flags.FULL_REFRESH) -%}
{%- endmacro %}

{#- The singular tests' filter to the run's window: `<column> between min_date and max_date` on a
    windowed run, `true` otherwise (full refresh, plain dbt build: every row is tested). -#}
{% macro run_window_condition(column='date_day') -%}
    {%- if run_window_applies() -%}
{{ column }} between '{{ run_min_date() }}'::date and '{{ run_max_date() }}'::date
    {%- else -%}
true
    {%- endif -%}
{%- endmacro %}
