{#-
    The latest row of each ad or campaign in fct_ad_performance_daily ("last seen" state), kept
    incrementally so the dimensions never scan the whole fact (models ads_last_seen_in_performance,
    campaigns_last_seen_in_performance; dim_ads and dim_campaigns read them).

    A full refresh (or a run without Dagster's window vars) takes each key's latest row from the
    whole fact. A windowed run (vars min_date/max_date) rebuilt the fact's days min_date..max_date
    only, so only keys whose latest row can have moved are recomputed (delete+insert on the key):
    - keys in the window whose stored last day is not after it: their latest row in the window
      (no row after the window exists for them: the run did not touch later days);
    - keys stored with a last day in the window that are gone from it (a restatement removed them):
      their latest row before the window, one index probe each (the key's rows stop there);
    the post-hook deletes keys left with no row at all. Keys last seen after the window, or before it
    and absent from it, keep their row. Ties on the latest day are broken by `tie_break`, the same
    way in both paths, so a windowed state equals a full refresh.
-#}
{% macro last_seen_in_performance(key_columns, carried_columns, tie_break) -%}
    {%- set fact = ref('fct_ad_performance_daily') -%}
    {%- set columns = key_columns + ['date_day'] + carried_columns -%}
    {%- set order_by = (key_columns + ['date_day desc'] + tie_break) | join(', ') -%}
    {%- set min_date = run_min_date() -%}
    {%- set max_date = run_max_date() -%}
    {%- if is_incremental() and min_date and max_date %}
with window_rows as (
    select {{ columns | join(', ') }}
    from {{ fact }}
    where date_day between '{{ min_date }}'::date and '{{ max_date }}'::date
),

latest_in_window as (
    select distinct on ({{ key_columns | join(', ') }}) {{ columns | join(', ') }}
    from window_rows
    where not exists (
        select 1 from {{ this }} as stored
        where stored.last_seen_day > '{{ max_date }}'::date
            {%- for key in key_columns %}
            and stored.{{ key }} = window_rows.{{ key }}
            {%- endfor %}
    )
    order by {{ order_by }}
),

gone_from_window as (
    select {{ key_columns | join(', ') }}
    from {{ this }} as stored
    where stored.last_seen_day between '{{ min_date }}'::date and '{{ max_date }}'::date
        and not exists (
            select 1 from window_rows
            where true
                {%- for key in key_columns %}
                and window_rows.{{ key }} = stored.{{ key }}
                {%- endfor %}
        )
),

latest_before_window as (
    select earlier.*
    from gone_from_window as gone
    cross join lateral (
        select {{ columns | join(', ') }}
        from {{ fact }} as fact
        where fact.date_day < '{{ min_date }}'::date
            {%- for key in key_columns %}
            and fact.{{ key }} = gone.{{ key }}
            {%- endfor %}
        order by {{ (['date_day desc'] + tie_break) | join(', ') }}
        limit 1
    ) as earlier
),

latest as (
    select * from latest_in_window
    union all
    select * from latest_before_window
)
    {%- else %}
with latest as (
    select distinct on ({{ key_columns | join(', ') }}) {{ columns | join(', ') }}
    from {{ fact }}
    order by {{ order_by }}
)
    {%- endif %}

select
    {{ key_columns | join(', ') }},
    date_day as last_seen_day,
    {{ carried_columns | join(', ') }}
from latest
{%- endmacro %}

{#- Post-hook of the state models: on a windowed run, delete keys last seen in the window that no
    longer have a row on that day (and none earlier: else they were recomputed). -#}
{% macro delete_keys_gone_from_performance(key_columns) -%}
    {%- set min_date = run_min_date() -%}
    {%- set max_date = run_max_date() -%}
    {%- if is_incremental() and min_date and max_date -%}
delete from {{ this }} as stored
where stored.last_seen_day between '{{ min_date }}'::date and '{{ max_date }}'::date
    and not exists (
        select 1 from {{ ref('fct_ad_performance_daily') }} as fact
        where fact.date_day = stored.last_seen_day
            {%- for key in key_columns %}
            and fact.{{ key }} = stored.{{ key }}
            {%- endfor %}
    )
    {%- endif -%}
{%- endmacro %}
