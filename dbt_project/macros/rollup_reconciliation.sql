{#
    Rows where a rollup of fct_ad_performance_daily disagrees with it: per tenant, platform, account and day
    the rollup's totals (and its reporting_ad_count) must equal the ad fact's exactly (the same
    rounded rows are summed), and no account-day may be on one side only. On a windowed run only the
    window's days are compared (the days the run rebuilt on both sides). Used by the singular
    tests assert_<rollup>_matches_ad_fact.
#}
{% macro rollup_reconciliation(rollup_model) -%}
    {%- set metrics = ['spend', 'impressions', 'clicks', 'conversions', 'conversion_value', 'spend_reporting', 'conversion_value_reporting'] -%}
with ad_totals as (
    select tenant_id, platform, account_id, date_day, count(*) as ad_rows
        {%- for metric in metrics %}, sum({{ metric }}) as {{ metric }}{% endfor %}
    from {{ ref('fct_ad_performance_daily') }}
    where {{ run_window_condition() }}
    group by tenant_id, platform, account_id, date_day
),

rollup_totals as (
    select tenant_id, platform, account_id, date_day, sum(reporting_ad_count) as ad_rows
        {%- for metric in metrics %}, sum({{ metric }}) as {{ metric }}{% endfor %}
    from {{ ref(rollup_model) }}
    where {{ run_window_condition() }}
    group by tenant_id, platform, account_id, date_day
)

select
    tenant_id,
    platform,
    account_id,
    date_day,
    ad_totals.ad_rows as ad_fact_rows,
    rollup_totals.ad_rows as rollup_ad_rows,
    ad_totals.spend as ad_fact_spend,
    rollup_totals.spend as rollup_spend
from ad_totals
full outer join rollup_totals using (tenant_id, platform, account_id, date_day)
where ad_totals.ad_rows is distinct from rollup_totals.ad_rows
    {%- for metric in metrics %}
    or ad_totals.{{ metric }} is distinct from rollup_totals.{{ metric }}
    {%- endfor %}
{%- endmacro %}
