with source as (
    select * from {{ source('tiktok', 'ad_accounts') }}
),

renamed as (
    select
        tenant_id,
        account_id,
        payload ->> 'name' as account_name,
        payload ->> 'company' as company,
        upper(payload ->> 'currency') as currency,
        -- `timezone` is a fixed offset ("Etc/GMT+5", no DST); `display_timezone` is the IANA zone
        -- the advertiser's days and hours are reported in.
        coalesce(nullif(payload ->> 'display_timezone', ''), payload ->> 'timezone') as timezone,
        payload ->> 'timezone' as timezone_fixed_offset,
        payload ->> 'status' as platform_status,
        -- Epoch seconds here, unlike the text times of every other TikTok object.
        to_timestamp({{ safe_cast("nullif(payload ->> 'create_time', '')", "bigint") }}) as created_at,
        _sync_id,
        _extracted_at
    from source
)

select
    tenant_id,
    account_id,
    account_name,
    company,
    currency,
    timezone,
    timezone_fixed_offset,
    platform_status,
    -- Unified: can the advertiser deliver ads (ACTIVE), is it blocked or not yet approved
    -- (DISABLED), or rejected for good (CLOSED)? Unknown statuses stay null so tests surface them.
    case
        when platform_status = 'STATUS_ENABLE' then 'ACTIVE'
        when platform_status = 'STATUS_CONFIRM_FAIL_END' then 'CLOSED'
        when platform_status in (
            'STATUS_DISABLE', 'STATUS_LIMIT', 'STATUS_PENDING_CONFIRM', 'STATUS_PENDING_VERIFIED',
            'STATUS_CONFIRM_FAIL', 'STATUS_CONFIRM_ERROR', 'STATUS_PENDING_CONFIRM_MODIFY',
            'STATUS_CONFIRM_MODIFY_FAIL', 'STATUS_WAIT_FOR_BPM_AUDIT', 'STATUS_WAIT_FOR_PUBLIC_AUTH',
            'STATUS_SELF_SERVICE_UNAUDITED', 'STATUS_CONTRACT_PENDING'
        ) then 'DISABLED'
    end as status,
    created_at,
    -- Not in the reports we read: TikTok's default attribution window for web conversions is
    -- 7 days after a click, 1 day after a view.
    '7d_click_1d_view'::text as attribution_setting,
    'platform_default'::text as attribution_setting_source,
    _sync_id,
    _extracted_at
from renamed
