{#
    Columns shared by the daily and hourly CSV staging models: both parse a file row the same way.
    The importer (pipeline/connectors/csv_import.py) validates every value before loading, and
    staging reads only rows csv_row_problem finds nothing wrong with: numbers are plain and
    non-negative, counts whole, ids non-empty, cells trimmed; an empty conversions or
    conversion_value cell means zero. The casts are guarded all the same (csv_safe_*): PostgreSQL
    may evaluate a column before the row filter (a test's `where spend is null` is pushed into the
    view), and a cast must not fail on a row the filter was about to drop.
#}
{% macro csv_performance_columns(payload='payload') -%}
    {{ payload }} ->> 'campaign_id' as campaign_id,
    nullif({{ payload }} ->> 'ad_group_id', '') as ad_group_id,
    nullif({{ payload }} ->> 'account_name', '') as account_name,
    nullif({{ payload }} ->> 'campaign_name', '') as campaign_name,
    -- The generic format has no ad group name.
    null::text as ad_group_name,
    nullif({{ payload }} ->> 'ad_name', '') as ad_name,
    upper({{ payload }} ->> 'currency') as currency,
    {{ csv_safe_numeric(payload ~ " ->> 'spend'") }} as spend,
    {{ csv_safe_bigint(payload ~ " ->> 'impressions'") }} as impressions,
    {{ csv_safe_bigint(payload ~ " ->> 'clicks'") }} as clicks,
    coalesce({{ csv_safe_numeric(payload ~ " ->> 'conversions'") }}, 0) as conversions,
    coalesce({{ csv_safe_numeric(payload ~ " ->> 'conversion_value'") }}, 0) as conversion_value,
    {{ payload }} ->> '_file_name' as file_name,
    {{ csv_safe_line_number(payload) }} as file_line_number
{%- endmacro %}


{# Every imported row that staging reads, daily and hourly, with its local day: what accounts and campaigns
   are derived from (int_csv__ad_accounts_aggregated, int_csv__campaigns_aggregated). #}
{% macro csv_file_rows() -%}
    select tenant_id, platform, account_id, "date" as date_day, payload, _extracted_at
    from {{ source('csv', 'ad_performance_daily') }}
    where {{ csv_row_problem('payload') }} is null
    union all
    select tenant_id, platform, account_id, hour_start_local::date as date_day, payload, _extracted_at
    from {{ source('csv', 'ad_performance_hourly') }}
    where {{ csv_row_problem('payload') }} is null
{%- endmacro %}


{#
    Why a raw file row cannot be read safely, naming the column ("spend: ..."), or null when it can.
    The importer refuses such rows, but a row can still reach raw another way (loaded by an older
    version, written by hand): staging leaves it out and int_csv__rejected_rows_unioned quarantines it,
    rather than one cast failing the models of every platform. The checks bound what the casts
    in csv_performance_columns read: plain non-negative numbers of at most 40 characters with an
    exponent of at most two digits (so numeric and double precision always hold them; 1e-100000
    and a number with 20,000 decimals fail here), below 10^15; counts whole; ids present; a
    timezone PostgreSQL knows. A CASE evaluates its branches in order, so no cast runs on text it rejected.
#}
{% macro csv_row_problem(payload='payload') -%}
    {%- set number_pattern = csv_number_pattern() -%}
    case
        {%- for column in ['campaign_id', 'ad_id', 'currency'] %}
        when coalesce({{ payload }} ->> '{{ column }}', '') = '' then '{{ column }}: required, but empty'
        {%- endfor %}
        {%- for column, required, whole in [
            ('spend', true, false), ('impressions', true, true), ('clicks', true, true),
            ('conversions', false, false), ('conversion_value', false, false)] %}
        {%- set cell = "(" ~ payload ~ " ->> '" ~ column ~ "')" %}
        {%- if required %}
        when coalesce({{ cell }}, '') = '' then '{{ column }}: required, but empty'
        {%- endif %}
        when {{ cell }} <> '' and (length({{ cell }}) > 40 or {{ cell }} !~ {{ number_pattern }})
            then '{{ column }}: not a number the warehouse can store'
        when nullif({{ cell }}, '')::numeric < 0 then '{{ column }}: must not be negative'
        when nullif({{ cell }}, '')::numeric >= 1e15 then '{{ column }}: implausibly large (>= 1e15)'
        {%- if whole %}
        when nullif({{ cell }}, '')::numeric <> trunc(nullif({{ cell }}, '')::numeric)
            then '{{ column }}: must be a whole number'
        {%- endif %}
        {%- endfor %}
        when ({{ payload }} ->> '_line_number') !~ '^[0-9]{1,9}$' then '_line_number: not a line number'
        when {{ payload }} ->> 'timezone' is not null
            and {{ payload }} ->> 'timezone' not in (select name from pg_timezone_names)
            then 'timezone: not a timezone the warehouse knows'
    end
{%- endmacro %}


{# The value of `expression` on the newest row: latest import first, then latest day, then last line. #}
{% macro csv_latest(expression) -%}
    (array_agg({{ expression }} order by _extracted_at desc, date_day desc, {{ csv_safe_line_number('payload') }} desc)
        filter (where {{ expression }} is not null))[1]
{%- endmacro %}


{# Plain numbers numeric and double precision always hold (macros/safe_numbers.sql). #}
{% macro csv_number_pattern() -%}
    {{ plain_number_pattern() }}
{%- endmacro %}


{# The cell as numeric, or null when it is empty or no such plain number (a CASE: no cast runs on text it rejected). #}
{% macro csv_safe_numeric(cell) -%}
    (case when length({{ cell }}) <= 40 and ({{ cell }}) ~ {{ csv_number_pattern() }} then ({{ cell }})::numeric end)
{%- endmacro %}


{# The cell as bigint, or null when it is no such plain number or at least 10^15 in size. #}
{% macro csv_safe_bigint(cell) -%}
    (case when length({{ cell }}) <= 40 and ({{ cell }}) ~ {{ csv_number_pattern() }} then
        case when abs(({{ cell }})::numeric) < 1e15 then round(({{ cell }})::numeric)::bigint end
    end)
{%- endmacro %}


{% macro csv_safe_line_number(payload='payload') -%}
    (case when ({{ payload }} ->> '_line_number') ~ '^[0-9]{1,9}$' then ({{ payload }} ->> '_line_number')::integer end)
{%- endmacro %}
