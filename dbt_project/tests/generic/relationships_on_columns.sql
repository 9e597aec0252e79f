{#
    Referential integrity on a composite key: every distinct `columns` combination in the tested
    model exists in `to` (same column names on both sides). dbt's built-in `relationships` test
    checks one column only, and ids are unique only within a platform.
#}
{% test relationships_on_columns(model, to, columns) %}
    select distinct {% for column in columns %}child.{{ column }}{{ ", " if not loop.last }}{% endfor %}
    from (select * from {{ model }}) as child
    where not exists (
        select 1
        from {{ to }} as parent
        where {% for column in columns %}parent.{{ column }} = child.{{ column }}{{ " and " if not loop.last }}{% endfor %}
    )
{% endtest %}
