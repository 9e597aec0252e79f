with source as (
    select * from {{ source('snapchat', 'ad_accounts') }}
)

select
    tenant_id,
    account_id,
    payload ->> 'name' as account_name,
    upper(payload ->> 'currency') as currency,
    -- Snap names the IANA zone; stats days and hours are local to it.
    payload ->> 'timezone' as timezone,
    payload ->> 'organization_id' as organization_id,
    payload ->> 'type' as account_type,
    payload ->> 'status' as platform_status,
    -- Unified: can the account deliver ads (ACTIVE), is it blocked (DISABLED), or gone (CLOSED)?
    case
        when upper(payload ->> 'status') = 'ACTIVE' then 'ACTIVE'
        when upper(payload ->> 'status') = 'DELETED' then 'CLOSED'
        when payload ->> 'status' is not null then 'DISABLED'
    end as status,
    {{ safe_cast("payload ->> 'created_at'", "timestamptz") }} as created_at,
    _sync_id,
    _extracted_at
from source
