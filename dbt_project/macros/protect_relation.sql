{#-
    Hand a built relation to the warehouse's tenant security (migration 0016): app.protect_mart turns
    on row-level security by tenant and grants SELECT to the analyst role; app.protect_view makes an
    analyst view a security barrier readable by viewers. A warehouse migrated before 0016 skips it.
-#}
{% macro protect_relation(kind) -%}
do $protect$
begin
    if to_regprocedure('app.protect_{{ kind }}(regclass)') is not null then
        perform app.protect_{{ kind }}('{{ this }}'::regclass);
    end if;
end
$protect$
{%- endmacro %}
