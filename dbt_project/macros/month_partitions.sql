{#-
    Monthly range partitions for the marts that grow with time (issue 14), like the raw windowed
    tables (pipeline/warehouse/partitions.py): a model opts in with config partition_by_month='<date
    column>'. Its table is a partitioned parent (`partition by range (<column>)`) whose months are
    named <table>_pYYYY_MM with bounds [first of month, first of next month), so the retention job
    and the Python helpers recognise them. No default partition: every month a run inserts is
    created first, on the table's creation (also --full-refresh) and before every incremental insert.
    Models without the config are built exactly as dbt builds them.
-#}

{# dbt's CREATE TABLE AS, for the model's table (not its temporary relations) when it opts in. #}
{% macro postgres__get_create_table_as_sql(temporary, relation, sql) -%}
    {%- set column = config.get('partition_by_month') -%}
    {%- if column and not temporary -%}
        {{ create_month_partitioned_table_as(relation, sql, column) }}
    {%- else -%}
        {{ default__get_create_table_as_sql(temporary, relation, sql) }}
    {%- endif -%}
{%- endmacro %}


{# delete+insert: the months of the rows about to be inserted exist first. #}
{% macro postgres__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set column = config.get('partition_by_month') -%}
    {%- if column -%}
        {{ create_month_partitions(target, source, column) }};
    {% endif -%}
    {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
{%- endmacro %}


{#- The rows are computed once into a temporary table: the parent takes its columns (LIKE), the
    months come from its distinct dates, then the rows go in. On a full refresh dbt builds the new
    table under an intermediate name and swaps it in, and partitions keep their names through a
    rename: so they are named after the model's table from the start, and the partitions of the table
    being replaced (dropped by dbt after the swap) give their names up first. -#}
{% macro create_month_partitioned_table_as(relation, sql, column) -%}
    {%- set rows_relation = make_temp_relation(this, '__month_rows') -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    create temporary table {{ rows_relation }} as (
        {{ sql }}
    );
    {% if relation.identifier != this.identifier -%}
    do $replaced$
    declare
        part record;
    begin
        for part in
            select child.relname from pg_inherits i join pg_class child on child.oid = i.inhrelid
            where i.inhparent = to_regclass({{ dbt.string_literal(this.include(database=false) | string) }})
        loop
            execute format('alter table %I.%I rename to %I', {{ dbt.string_literal(this.schema) }},
                part.relname, left(part.relname, 54) || '_replaced');
        end loop;
    end
    $replaced$;
    {%- endif %}
    create table {{ relation }} (like {{ rows_relation }}) partition by range ({{ adapter.quote(column) }});
    {{ create_month_partitions(relation, rows_relation, column) }};
    insert into {{ relation }} select * from {{ rows_relation }};
    drop table {{ rows_relation }}
{%- endmacro %}


{#- Create the missing month partitions of `parent` for the dates in `rows_relation`. A parent that
    is not partitioned (a mart built before, until migration 0023 converts it) is left as it is. -#}
{% macro create_month_partitions(parent, rows_relation, column) -%}
    do $months$
    declare
        month date;
    begin
        if (select relkind from pg_class
            where oid = to_regclass({{ dbt.string_literal(parent.include(database=false) | string) }})) <> 'p' then
            return;
        end if;
        for month in
            select distinct date_trunc('month', {{ adapter.quote(column) }})::date from {{ rows_relation }}
            where {{ adapter.quote(column) }} is not null
        loop
            execute format(
                'create table if not exists %I.%I partition of %s for values from (%L) to (%L)',
                {{ dbt.string_literal(parent.schema) }},
                {{ dbt.string_literal(this.identifier ~ '_p') }} || to_char(month, 'YYYY_MM'),
                {{ dbt.string_literal(parent.include(database=false) | string) }},
                to_char(month, 'YYYY-MM-DD'),
                to_char(month + interval '1 month', 'YYYY-MM-DD'));
            -- Read through the parent and its row policy only: a partition has no grant, and row-level
            -- security without a policy shows a partition granted by mistake as empty.
            execute format('alter table %I.%I enable row level security', {{ dbt.string_literal(parent.schema) }},
                {{ dbt.string_literal(this.identifier ~ '_p') }} || to_char(month, 'YYYY_MM'));
        end loop;
    end
    $months$
{%- endmacro %}
