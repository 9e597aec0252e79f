with source as (
    select * from {{ source('snapchat', 'ad_accounts') }}
),

-- The connector pins the attribution windows of its stats requests and Snap echoes them on every
-- answer (the loader keeps them on each record). The account's: the windows on its latest
-- reported day, read through the raw key index; e.g. 28_DAY swipe-up, 1_DAY view -> 28d_swipe_up_1d_view.
-- Grouped by account_id, so PostgreSQL drops the join where the column is not selected.
reported_attribution as (
    select
        source.account_id,
        max(latest.attribution_setting) as attribution_setting
    from source
    cross join lateral (
        select string_agg(
            distinct
            lower(replace(replace(insights.payload ->> 'swipe_up_attribution_window', '_DAY', 'd'), '_HOUR', 'h'))
            || '_swipe_up_'
            || lower(replace(replace(insights.payload ->> 'view_attribution_window', '_DAY', 'd'), '_HOUR', 'h'))
            || '_view',
            ','
        ) as attribution_setting
        from {{ source('snapchat', 'ads_insights_daily') }} as insights
        where insights.account_id = source.account_id
            and insights.start_date = (
                select max(newest.start_date)
                from {{ source('snapchat', 'ads_insights_daily') }} as newest
                where newest.account_id = source.account_id
            )
    ) as latest
    group by source.account_id
)

select
    source.account_id,
    source.payload ->> 'name' as account_name,
    upper(source.payload ->> 'currency') as currency,
    -- Snap names the IANA zone; stats days and hours are local to it.
    source.payload ->> 'timezone' as timezone,
    source.payload ->> 'organization_id' as organization_id,
    source.payload ->> 'type' as account_type,
    source.payload ->> 'status' as platform_status,
    -- Unified: can the account deliver ads (ACTIVE), is it blocked (DISABLED), or gone (CLOSED)?
    case
        when upper(source.payload ->> 'status') = 'ACTIVE' then 'ACTIVE'
        when upper(source.payload ->> 'status') = 'DELETED' then 'CLOSED'
        when source.payload ->> 'status' is not null then 'DISABLED'
    end as status,
    {{ safe_cast("source.payload ->> 'created_at'", "timestamptz") }} as created_at,
    reported_attribution.attribution_setting,
    case when reported_attribution.attribution_setting is not null then 'requested' end as attribution_setting_source,
    source._sync_id,
    source._extracted_at
from source
left join reported_attribution
    on source.account_id = reported_attribution.account_id
