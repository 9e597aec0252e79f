with source as (
    select * from {{ source('microsoft_ads', 'ad_accounts') }}
),

renamed as (
    select
        tenant_id,
        account_id,
        payload ->> 'Name' as account_name,
        payload ->> 'Number' as account_number,
        upper(payload ->> 'CurrencyCode') as currency,
        payload ->> 'TimeZone' as platform_time_zone,
        payload ->> 'AccountLifeCycleStatus' as platform_status,
        {{ safe_cast("nullif(payload ->> 'PauseReason', '')", "integer") }} as pause_reason,
        payload ->> 'ParentCustomerId' as customer_id,
        _sync_id,
        _extracted_at
    from source
)

select
    tenant_id,
    account_id,
    account_name,
    account_number,
    currency,
    -- Microsoft names its own zones (EasternTimeUSCanada, ...); report days are local to it.
    {{ microsoft_ads_time_zone_to_iana('platform_time_zone') }} as timezone,
    platform_time_zone,
    -- Unified: can the account deliver (ACTIVE), is it held (DISABLED), or gone (CLOSED)?
    case platform_status
        when 'Active' then 'ACTIVE'
        when 'Pause' then 'DISABLED'
        when 'Suspended' then 'DISABLED'
        when 'Pending' then 'DISABLED'
        when 'Draft' then 'DISABLED'
        when 'Inactive' then 'CLOSED'
    end as status,
    platform_status,
    pause_reason,
    customer_id,
    -- Not in the reports we read: each conversion goal has its own window; Microsoft's default for
    -- a new goal is 30 days after a click.
    '30d_click'::text as attribution_setting,
    'platform_default'::text as attribution_setting_source,
    _sync_id,
    _extracted_at
from renamed
