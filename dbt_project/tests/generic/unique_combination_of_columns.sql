{#
    The grain test: no two rows share the same values in `combination_of_columns`.
    Returns one failing row per duplicated key with how many rows share it.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set key_columns = combination_of_columns | join(', ') %}
    select {{ key_columns }}, count(*) as row_count
    from {{ model }}
    group by {{ key_columns }}
    having count(*) > 1
{% endtest %}
