{#
    Warns (does not fail) when imported file rows are left out of the marts because the platform's
    own connector has the same account-day: a file that claims, say, platform meta for an account
    the Meta connector syncs. The connector's numbers are the ones shown; this lists what was set
    aside so nobody wonders where an import went. One row per (tenant, source, platform, account) affected.
#}
{#- A WARN asset check of the daily fact in Dagster: it reads every source's staging, so it names the
    mart it explains (and runs after it). -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_ad_performance_daily'}}}) }}
-- depends_on: {{ ref('fct_ad_performance_daily') }}

-- Not materialized: the window filter below reaches each staging view instead of following a
-- union of the whole history.
with every_row as not materialized (
    {{ union_platform_models(
        'ad_performance_daily',
        [('tenant_id', 'text'), ('date_day', 'date'), ('account_id', 'text'), ('spend', 'numeric')],
        prefer_connectors=false,
    ) }}
),

connector_account_days as (
    select distinct tenant_id, platform, account_id, date_day
    from every_row
    where source = platform
        and {{ run_window_condition() }}  -- the run's window (every day on a full refresh)
)

select
    file_rows.tenant_id,
    file_rows.source,
    file_rows.platform,
    file_rows.account_id,
    min(file_rows.date_day) as first_day_left_out,
    max(file_rows.date_day) as last_day_left_out,
    count(*) as rows_left_out,
    sum(file_rows.spend) as spend_left_out
from every_row as file_rows
inner join connector_account_days
    on file_rows.tenant_id = connector_account_days.tenant_id
    and file_rows.platform = connector_account_days.platform
    and file_rows.account_id = connector_account_days.account_id
    and file_rows.date_day = connector_account_days.date_day
where file_rows.source <> file_rows.platform
    and {{ run_window_condition('file_rows.date_day') }}
group by file_rows.source, file_rows.tenant_id, file_rows.platform, file_rows.account_id
