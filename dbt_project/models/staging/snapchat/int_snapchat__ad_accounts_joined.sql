-- The connector pins the attribution windows of its stats requests and Snap echoes them on every
-- answer (the loader keeps them on each record). The account's: the windows on its latest
-- reported day (idle ad-days included), read through the raw key index (the staging view is a
-- projection of the raw table); e.g. 28_DAY swipe-up, 1_DAY view -> 28d_swipe_up_1d_view.
-- Grouped by account_id, so PostgreSQL drops the join where the column is not selected.
with accounts as (
    select * from {{ ref('stg_snapchat__ad_accounts') }}
),

-- Not materialized: referenced twice, PostgreSQL would otherwise scan and parse every raw row once
-- (a daily run's cost would follow the history) instead of reading by the raw table's indexes.
insights as not materialized (
    select tenant_id, account_id, date_day, swipe_up_attribution_window, view_attribution_window
    from {{ ref('stg_snapchat__ad_insights') }}
),

reported_attribution as (
    select
        accounts.tenant_id,
        accounts.account_id,
        max(latest.attribution_setting) as attribution_setting
    from accounts
    cross join lateral (
        select string_agg(
            distinct
            lower(replace(replace(insights.swipe_up_attribution_window, '_DAY', 'd'), '_HOUR', 'h'))
            || '_swipe_up_'
            || lower(replace(replace(insights.view_attribution_window, '_DAY', 'd'), '_HOUR', 'h'))
            || '_view',
            ','
        ) as attribution_setting
        from insights
        where insights.tenant_id = accounts.tenant_id
            and insights.account_id = accounts.account_id
            and insights.date_day = (
                select max(newest.date_day)
                from insights as newest
                where newest.tenant_id = accounts.tenant_id
                    and newest.account_id = accounts.account_id
            )
    ) as latest
    group by accounts.tenant_id, accounts.account_id
)

select
    accounts.tenant_id,
    accounts.account_id,
    accounts.account_name,
    accounts.currency,
    accounts.timezone,
    accounts.organization_id,
    accounts.account_type,
    accounts.platform_status,
    accounts.status,
    accounts.created_at,
    reported_attribution.attribution_setting,
    case when reported_attribution.attribution_setting is not null then 'requested' end as attribution_setting_source,
    accounts._sync_id,
    accounts._extracted_at
from accounts
left join reported_attribution
    on accounts.tenant_id = reported_attribution.tenant_id
    and accounts.account_id = reported_attribution.account_id
