{#
    A model's simple column rules in one test: columns that must not be null, must not be negative
    (nulls pass), or must hold one of a few values (nulls pass, as dbt's accepted_values).
    One scan of the model instead of one query per column and rule: each such test is a dbt node,
    a stored-failures view and a Dagster asset check, and the per-column tests were most of a daily
    run's nodes (402 of 562). Fails on every offending row, with the rules it breaks in `failed_rules`
    (e.g. "spend is null; clicks is negative"), so the stored failures keep the row's platform and
    account (pipeline/warehouse/test_failures.py splits them by rule, platform and account).

        data_tests:
          - column_rules:
              name: column_rules_<model>
              arguments:
                not_null: [account_id, spend]
                non_negative: [spend]
                accepted_values: {status: [ACTIVE, PAUSED]}
#}
{% test column_rules(model, not_null=[], non_negative=[], accepted_values={}) %}
    {%- set checks = [] -%}
    {%- for column in not_null -%}
        {%- do checks.append("case when " ~ column ~ " is null then '" ~ column ~ " is null' end") -%}
    {%- endfor -%}
    {%- for column in non_negative -%}
        {%- do checks.append("case when " ~ column ~ " < 0 then '" ~ column ~ " is negative' end") -%}
    {%- endfor -%}
    {%- for column, values in accepted_values.items() -%}
        {%- set quoted = [] -%}
        {%- for value in values -%}
            {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
        {%- endfor -%}
        {%- do checks.append(
            "case when " ~ column ~ "::text not in (" ~ quoted | join(', ') ~ ") then '"
            ~ column ~ " is not one of " ~ (values | join(', ') | replace("'", "''")) ~ "' end"
        ) -%}
    {%- endfor -%}
    {%- if not checks -%}
        {{ exceptions.raise_compiler_error("column_rules on " ~ model ~ " names no rule: give not_null, non_negative or accepted_values") }}
    {%- endif -%}
    select *
    from (
        select *, concat_ws('; ', {{ checks | join(', ') }}) as failed_rules
        from {{ model }}
    ) checked
    where failed_rules <> ''
{% endtest %}
