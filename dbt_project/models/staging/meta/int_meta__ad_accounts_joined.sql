-- Meta reports the attribution setting its numbers use on every insights row (the connector asks
-- for no action_attribution_windows, so it is the ad sets' setting, e.g. 7d_click_1d_view). The
-- account's: the value(s) on its latest reported day, read through the raw key index (the staging
-- view is a projection of the raw table). Grouped by account_id, so PostgreSQL drops the join where
-- the column is not selected.
with accounts as (
    select * from {{ ref('stg_meta__ad_accounts') }}
),

-- Not materialized: referenced twice, PostgreSQL would otherwise scan and parse every raw row once
-- (a daily run's cost would follow the history) instead of reading by the raw table's indexes.
insights as not materialized (
    select tenant_id, account_id, date_day, attribution_setting from {{ ref('stg_meta__ad_insights') }}
),

reported_attribution as (
    select
        accounts.tenant_id,
        accounts.account_id,
        max(latest.attribution_setting) as attribution_setting
    from accounts
    cross join lateral (
        select string_agg(distinct insights.attribution_setting, ',') as attribution_setting
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
    accounts.timezone_offset_hours_utc,
    accounts.platform_status_code,
    accounts.platform_status,
    accounts.status,
    reported_attribution.attribution_setting,
    case when reported_attribution.attribution_setting is not null then 'reported' end as attribution_setting_source,
    accounts._sync_id,
    accounts._extracted_at
from accounts
left join reported_attribution
    on accounts.tenant_id = reported_attribution.tenant_id
    and accounts.account_id = reported_attribution.account_id
