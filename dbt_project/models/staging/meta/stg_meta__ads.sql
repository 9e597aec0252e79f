with source as (
    select * from {{ source('meta', 'ads') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    payload ->> 'campaign_id' as campaign_id,
    -- House vocabulary: a Meta ad set is an ad group.
    payload ->> 'adset_id' as ad_group_id,
    payload ->> 'name' as ad_name,
    {{ meta_unified_status("payload ->> 'status'") }} as status,
    payload ->> 'status' as platform_status,
    payload ->> 'effective_status' as platform_effective_status,
    {{ safe_cast("payload ->> 'created_time'", "timestamptz") }} as created_at,
    _sync_id,
    _extracted_at
from source
