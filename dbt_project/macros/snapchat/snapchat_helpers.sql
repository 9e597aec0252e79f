{#
    Snapchat-specific parsing helpers shared by the staging/snapchat models.
#}

{# Snap sends money as integer micro-currency (1 unit = 1,000,000 micros) of the account currency,
   as JSON numbers; null, absent or empty stays null. #}
{% macro snapchat_micros_to_major_units(amount) -%}
    round({{ safe_cast("nullif(" ~ amount ~ ", '')", "numeric") }} / 1000000, 6)
{%- endmacro %}


{# Snap's status of a campaign, ad squad or ad mapped to the unified status used in the marts.
   Snap has no archive: deleted objects (listed with read_deleted_entities) are REMOVED. Unknown
   values stay null so the accepted_values / not_null tests surface them. #}
{% macro snapchat_unified_status(status) -%}
    case upper({{ status }})
        when 'ACTIVE' then 'ACTIVE'
        when 'PAUSED' then 'PAUSED'
        when 'DELETED' then 'REMOVED'
    end
{%- endmacro %}


{# The metric columns of one stats record (`payload -> 'stats'`), in the house vocabulary: swipes
   are Snap's clicks, purchases its conversions; a metric that is absent means zero. #}
{% macro snapchat_stats_columns(payload='payload') -%}
    round({{ metric_number(payload ~ " -> 'stats' ->> 'spend'") }} / 1000000, 6) as spend,
    {{ metric_count(payload ~ " -> 'stats' ->> 'impressions'") }} as impressions,
    {{ metric_count(payload ~ " -> 'stats' ->> 'swipes'") }} as clicks,
    {{ metric_number(payload ~ " -> 'stats' ->> 'conversion_purchases'") }} as conversions,
    round({{ metric_number(payload ~ " -> 'stats' ->> 'conversion_purchases_value'") }} / 1000000, 6)
        as conversion_value,
    -- The attribution the numbers were computed with, e.g. "28_DAY swipe / 1_DAY view".
    ({{ payload }} ->> 'swipe_up_attribution_window') || ' swipe / '
        || ({{ payload }} ->> 'view_attribution_window') || ' view' as attribution_setting,
    {{ safe_cast(payload ~ " ->> 'finalized_data_end_time'", "timestamptz") }} as finalized_data_end_time,
    -- Snap stops changing an interval once it ends before finalized_data_end_time.
    coalesce(
        {{ safe_cast(payload ~ " ->> 'end_time'", "timestamptz") }} <= {{ safe_cast(payload ~ " ->> 'finalized_data_end_time'", "timestamptz") }},
        false
    ) as is_finalized
{%- endmacro %}


{# True when a stats record holds any activity. Snap's omit_empty leaves out ads idle for the whole
   request window, but a delivering ad's idle days and hours still come as all-zero intervals;
   staging drops those so the grain is "ad-intervals with activity", as on every other platform. #}
{% macro snapchat_stats_have_activity(payload='payload') -%}
    exists (
        select 1
        from jsonb_each_text(
            case when jsonb_typeof({{ payload }} -> 'stats') = 'object' then {{ payload }} -> 'stats' else '{}'::jsonb end
        ) as stat
        where nullif(stat.value, '')::numeric <> 0
    )
{%- endmacro %}
