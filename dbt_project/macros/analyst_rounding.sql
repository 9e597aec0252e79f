{#-
    What analysts read: money with its currency's decimals (ISO 4217 minor units: 0 for JPY, KRW...,
    3 for BHD, KWD..., else 2) and ratios with 4 decimals. Only the analyst views round; the marts
    keep full precision for further arithmetic.
-#}
{% macro round_money(amount, currency) -%}
    round(
        ({{ amount }})::numeric,
        case
            when upper({{ currency }}) in (
                'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND',
                'VUV', 'XAF', 'XOF', 'XPF'
            ) then 0
            when upper({{ currency }}) in ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') then 3
            else 2
        end
    )
{%- endmacro %}

{% macro round_ratio(ratio) -%}
    round(({{ ratio }})::numeric, 4)
{%- endmacro %}
