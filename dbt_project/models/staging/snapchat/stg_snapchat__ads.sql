with source as (
    select * from {{ source('snapchat', 'ads') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    -- House vocabulary: a Snapchat ad squad is an ad group. Snap's ads name their ad squad only.
    payload ->> 'ad_squad_id' as ad_group_id,
    payload ->> 'name' as ad_name,
    {{ snapchat_unified_status("payload ->> 'status'") }} as status,
    payload ->> 'status' as platform_status,
    payload ->> 'review_status' as review_status,
    payload ->> 'creative_id' as creative_id,
    {{ safe_cast("payload ->> 'created_at'", "timestamptz") }} as created_at,
    _sync_id,
    _extracted_at
from source
