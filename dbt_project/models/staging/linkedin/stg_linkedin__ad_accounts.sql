with source as (
    select * from {{ source('linkedin', 'ad_accounts') }}
)

select
    source.tenant_id,
    source.account_id,
    source.payload ->> 'name' as account_name,
    upper(source.payload ->> 'currency') as currency,
    -- LinkedIn reports UTC days (adAnalytics dateRange); accounts carry no timezone.
    'UTC'::text as timezone,
    source.payload ->> 'type' as account_type,
    source.payload ->> 'reference' as reference,
    source.payload ->> 'status' as platform_status,
    -- Unified: can the account deliver (ACTIVE), is it not yet live (DRAFT), or gone?
    case upper(source.payload ->> 'status')
        when 'ACTIVE' then 'ACTIVE'
        when 'DRAFT' then 'DISABLED'
        when 'CANCELED' then 'CLOSED'
        when 'PENDING_DELETION' then 'CLOSED'
        when 'REMOVED' then 'CLOSED'
    end as status,
    -- LinkedIn's default conversion windows; the analytics answer does not carry them.
    '30d_click_7d_view'::text as attribution_setting,
    'platform_default'::text as attribution_setting_source,
    to_timestamp({{ safe_cast("source.payload -> 'changeAuditStamps' -> 'created' ->> 'time'", "numeric") }} / 1000) as created_at,
    source._sync_id,
    source._extracted_at
from source
