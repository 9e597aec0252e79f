{#
    Helpers shared by every platform's hourly staging model and the hourly marts.
#}

{# The instant a local clock hour starts, for an account-local `timestamp without time zone` and
   the account's IANA timezone. Plain `local at time zone tz` is right for every hour but the one
   that repeats when DST ends: PostgreSQL reads an ambiguous local time as standard time, i.e. the
   second occurrence, while the hour's row (the platforms label clock hours, and fold both real
   hours into it) starts at the first. So: take the instant one hour after the previous local
   hour when that instant is still this local hour (the first occurrence), else the plain reading.
   A local hour that does not exist (DST start) cannot have delivered and maps to the next hour. #}
{% macro local_hour_start_to_utc(hour_start_local, timezone) -%}
    {%- set after_previous_hour -%}
        ((({{ hour_start_local }}) - interval '1 hour') at time zone ({{ timezone }})) + interval '1 hour'
    {%- endset -%}
    case
        when ({{ after_previous_hour }}) at time zone ({{ timezone }}) = ({{ hour_start_local }})
            then {{ after_previous_hour }}
        else ({{ hour_start_local }}) at time zone ({{ timezone }})
    end
{%- endmacro %}


{# The first day the hourly marts keep: "recent" means the var('hourly_retention_days') local days
   ending with the newest day any platform's hourly staging holds (normally today in the
   easternmost account timezone). Anchored on the data rather than the server clock, so a rebuild
   yields the same rows whenever it runs and the sandbox's pinned clocks behave like real ones.
   Null (keep nothing) while no hourly data is loaded. #}
{% macro hourly_retention_start() -%}
    {%- set retention_days = var('hourly_retention_days') | int -%}
    {%- if retention_days < 1 -%}
        {{ exceptions.raise_compiler_error("var('hourly_retention_days') must be >= 1, got " ~ retention_days) }}
    {%- endif -%}
    ((select max(date_day) from {{ ref('int_ad_performance_hourly__unioned') }}) - {{ retention_days - 1 }})
{%- endmacro %}
