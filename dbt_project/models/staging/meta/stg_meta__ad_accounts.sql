with source as (
    select * from {{ source('meta', 'ad_accounts') }}
),

renamed as (
    select
        tenant_id,
        account_id,
        payload ->> 'name' as account_name,
        upper(payload ->> 'currency') as currency,
        payload ->> 'timezone_name' as timezone,
        {{ safe_cast("nullif(payload ->> 'timezone_offset_hours_utc', '')", "numeric") }} as timezone_offset_hours_utc,
        {{ safe_cast("nullif(payload ->> 'account_status', '')", "integer") }} as platform_status_code,
        _sync_id,
        _extracted_at
    from source
)

select
    tenant_id,
    account_id,
    account_name,
    currency,
    timezone,
    timezone_offset_hours_utc,
    platform_status_code,
    -- Meta's documented account_status codes.
    case platform_status_code
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
        when platform_status_code in (1, 9, 201) then 'ACTIVE'
        when platform_status_code in (2, 3, 7, 8) then 'DISABLED'
        when platform_status_code in (100, 101, 202) then 'CLOSED'
    end as status,
    _sync_id,
    _extracted_at
from renamed
