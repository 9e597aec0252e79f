with source as (
    select * from {{ source('google_ads', 'ad_accounts') }}
),

renamed as (
    select
        tenant_id,
        account_id,
        payload -> 'customer' ->> 'descriptiveName' as account_name,
        upper(payload -> 'customer' ->> 'currencyCode') as currency,
        payload -> 'customer' ->> 'timeZone' as timezone,
        payload -> 'customer' ->> 'status' as platform_status,
        coalesce((payload -> 'customer' ->> 'manager')::boolean, false) as is_manager,
        coalesce((payload -> 'customer' ->> 'testAccount')::boolean, false) as is_test_account,
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
    -- Unified: can the account deliver (ACTIVE), is it blocked (DISABLED), or gone (CLOSED)?
    case platform_status
        when 'ENABLED' then 'ACTIVE'
        when 'SUSPENDED' then 'DISABLED'
        when 'CANCELED' then 'CLOSED'
        when 'CLOSED' then 'CLOSED'
    end as status,
    platform_status,
    is_manager,
    is_test_account,
    -- Not in the reports we read: each conversion action has its own window; Google's default for a
    -- new conversion action is 30 days after a click (the conversions column excludes view-through).
    '30d_click'::text as attribution_setting,
    'platform_default'::text as attribution_setting_source,
    _sync_id,
    _extracted_at
from renamed
