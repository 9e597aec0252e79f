{#
    Meta-specific parsing helpers shared by the staging/meta models.
#}

{# Sum of one action type's values in a Meta `actions` / `action_values` array (0 when absent).
   The array is omitted on zero-metric rows, and may be JSON null, so anything that is not an
   array counts as empty. #}
{% macro meta_action_total(json_array, action_type) -%}
    coalesce((
        select sum({{ metric_number("action ->> 'value'") }})
        from jsonb_array_elements(
            case when jsonb_typeof({{ json_array }}) = 'array' then {{ json_array }} else '[]'::jsonb end
        ) as action
        where action ->> 'action_type' = '{{ action_type }}'
    ), 0)
{%- endmacro %}


{# Meta budgets are integers in the currency's minor units, with a per-currency "offset":
   100 for most currencies, 1 for the ones Meta treats as zero-decimal
   (https://developers.facebook.com/docs/marketing-api/currencies). `minor_units` is numeric
   (staging casts it); the currency is the account's, so the division happens after the join. #}
{% macro meta_budget_to_major_units(minor_units, currency) -%}
    round({{ minor_units }} / case
        when upper({{ currency }}) in ('CLP', 'COP', 'CRC', 'HUF', 'IDR', 'ISK', 'JPY', 'KRW', 'PYG', 'TWD', 'VND')
            then 1
        else 100
    end, 2)
{%- endmacro %}


{# Meta's configured status of a campaign, ad set or ad, mapped to the unified status used in
   the marts. Unknown values stay null so the marts' accepted_values/not_null tests surface them. #}
{% macro meta_unified_status(status) -%}
    case upper({{ status }})
        when 'ACTIVE' then 'ACTIVE'
        when 'PAUSED' then 'PAUSED'
        when 'ARCHIVED' then 'ARCHIVED'
        when 'DELETED' then 'REMOVED'
    end
{%- endmacro %}


{# The insights columns the daily and hourly staging models share, so both grains parse a record
   identically (the hourly-vs-daily reconciliation relies on it). Ids and names, account currency,
   metrics from JSON strings (a missing metric means zero), and exactly one conversion action type:
   purchase / omni_purchase repeat the pixel purchase, so summing every purchase-like type would
   double or triple count. `reach` only exists per day (people are not additive over hours). #}
{% macro meta_insights_columns(payload='payload', with_reach=true) -%}
    {{ payload }} ->> 'campaign_id' as campaign_id,
    -- House vocabulary: a Meta ad set is an ad group.
    {{ payload }} ->> 'adset_id' as ad_group_id,
    {{ payload }} ->> 'account_name' as account_name,
    {{ payload }} ->> 'campaign_name' as campaign_name,
    {{ payload }} ->> 'adset_name' as ad_group_name,
    {{ payload }} ->> 'ad_name' as ad_name,
    upper({{ payload }} ->> 'account_currency') as currency,
    {{ metric_number(payload ~ " ->> 'spend'") }} as spend,
    {{ metric_count(payload ~ " ->> 'impressions'") }} as impressions,
    {{ metric_count(payload ~ " ->> 'clicks'") }} as clicks,
    {%- if with_reach %}
    {{ metric_count(payload ~ " ->> 'reach'") }} as reach,
    {%- endif %}
    {{ meta_action_total(payload ~ " -> 'actions'", 'link_click') }} as link_clicks,
    {{ meta_action_total(payload ~ " -> 'actions'", var('meta_conversion_action_type')) }} as conversions,
    {{ meta_action_total(payload ~ " -> 'action_values'", var('meta_conversion_action_type')) }} as conversion_value,
    {{ payload }} ->> 'attribution_setting' as attribution_setting
{%- endmacro %}
