{#
    Meta-specific parsing helpers shared by the staging/meta models.
#}

{# Sum of one action type's values in a Meta `actions` / `action_values` array (0 when absent).
   The array is omitted on zero-metric rows, and may be JSON null, so anything that is not an
   array counts as empty. #}
{% macro meta_action_total(json_array, action_type) -%}
    coalesce((
        select sum(nullif(action ->> 'value', '')::numeric)
        from jsonb_array_elements(
            case when jsonb_typeof({{ json_array }}) = 'array' then {{ json_array }} else '[]'::jsonb end
        ) as action
        where action ->> 'action_type' = '{{ action_type }}'
    ), 0)
{%- endmacro %}


{# Meta budgets are integers in the currency's minor units, with a per-currency "offset":
   100 for most currencies, 1 for the ones Meta treats as zero-decimal
   (https://developers.facebook.com/docs/marketing-api/currencies). #}
{% macro meta_budget_to_major_units(amount, currency) -%}
    round(nullif({{ amount }}, '')::numeric / case
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
