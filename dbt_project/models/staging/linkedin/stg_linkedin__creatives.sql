with source as (
    select * from {{ source('linkedin', 'creatives') }}
)

select
    source.tenant_id,
    source.account_id,
    -- House vocabulary: a LinkedIn creative is an ad. Ids come as URNs (urn:li:sponsoredCreative:123).
    source.creative_id as ad_id,
    split_part(source.payload ->> 'campaign', ':', 4) as campaign_id,
    -- LinkedIn has no level between campaign and creative.
    null::text as ad_group_id,
    source.payload ->> 'name' as ad_name,
    case upper(source.payload ->> 'intendedStatus')
        when 'ACTIVE' then 'ACTIVE'
        when 'PAUSED' then 'PAUSED'
        when 'DRAFT' then 'PAUSED'
        when 'ARCHIVED' then 'ARCHIVED'
        when 'CANCELED' then 'REMOVED'
        when 'PENDING_DELETION' then 'REMOVED'
        when 'REMOVED' then 'REMOVED'
    end as status,
    source.payload ->> 'intendedStatus' as platform_status,
    to_timestamp({{ safe_cast("source.payload ->> 'createdAt'", "numeric") }} / 1000) as created_at,
    source._sync_id,
    source._extracted_at
from source
