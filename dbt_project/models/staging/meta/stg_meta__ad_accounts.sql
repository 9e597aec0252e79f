with source as (
    select * from {{ source('meta', 'ad_accounts') }}
),

renamed as (
    select
        account_id,
        payload ->> 'name' as account_name,
        upper(payload ->> 'currency') as currency,
        payload ->> 'timezone_name' as timezone,
        {{ safe_cast("nullif(payload ->> 'timezone_offset_hours_utc', '')", "numeric") }} as timezone_offset_hours_utc,
        {{ safe_cast("nullif(payload ->> 'account_status', '')", "integer") }} as platform_status_code,
        _sync_id,
        _extracted_at
    from source
),

-- Meta reports the attribution setting its numbers use on every insights row (the connector asks
-- for no action_attribution_windows, so it is the ad sets' setting, e.g. 7d_click_1d_view). The
-- account's: the value(s) on its latest reported day, read through the raw key index. Grouped by
-- account_id, so PostgreSQL drops the join where the column is not selected (the ad set and
-- campaign models read this model for the currency only).
reported_attribution as (
    select
        renamed.account_id,
        max(latest.attribution_setting) as attribution_setting
    from renamed
    cross join lateral (
        select string_agg(distinct insights.payload ->> 'attribution_setting', ',') as attribution_setting
        from {{ source('meta', 'ads_insights_daily') }} as insights
        where insights.account_id = renamed.account_id
            and insights.date_start = (
                select max(newest.date_start)
                from {{ source('meta', 'ads_insights_daily') }} as newest
                where newest.account_id = renamed.account_id
            )
    ) as latest
    group by renamed.account_id
)

select
    renamed.account_id,
    renamed.account_name,
    renamed.currency,
    renamed.timezone,
    renamed.timezone_offset_hours_utc,
    renamed.platform_status_code,
    -- Meta's documented account_status codes.
    case renamed.platform_status_code
        when 1 then 'ACTIVE'
        when 2 then 'DISABLED'
        when 3 then 'UNSETTLED'
        when 7 then 'PENDING_RISK_REVIEW'
        when 8 then 'PENDING_SETTLEMENT'
        when 9 then 'IN_GRACE_PERIOD'
        when 100 then 'PENDING_CLOSURE'
        when 101 then 'CLOSED'
        when 201 then 'ANY_ACTIVE'
        when 202 then 'ANY_CLOSED'
    end as platform_status,
    -- Unified: can the account deliver ads (ACTIVE), is it blocked (DISABLED), or gone (CLOSED)?
    case
        when renamed.platform_status_code in (1, 9, 201) then 'ACTIVE'
        when renamed.platform_status_code in (2, 3, 7, 8) then 'DISABLED'
        when renamed.platform_status_code in (100, 101, 202) then 'CLOSED'
    end as status,
    reported_attribution.attribution_setting,
    case when reported_attribution.attribution_setting is not null then 'reported' end as attribution_setting_source,
    renamed._sync_id,
    renamed._extracted_at
from renamed
left join reported_attribution
    on renamed.account_id = reported_attribution.account_id
