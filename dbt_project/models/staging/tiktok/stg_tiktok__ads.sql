with source as (
    select * from {{ source('tiktok', 'ads') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    payload ->> 'campaign_id' as campaign_id,
    -- House vocabulary: a TikTok ad group is an ad group.
    payload ->> 'adgroup_id' as ad_group_id,
    payload ->> 'ad_name' as ad_name,
    {{ tiktok_unified_status("payload ->> 'operation_status'", "payload ->> 'secondary_status'", 'AD') }} as status,
    payload ->> 'operation_status' as platform_status,
    payload ->> 'secondary_status' as platform_effective_status,
    -- UTC wall-clock text.
    {{ tiktok_utc_time("payload ->> 'create_time'") }} as created_at,
    _sync_id,
    _extracted_at
from source
