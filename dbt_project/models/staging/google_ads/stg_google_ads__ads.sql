with source as (
    select * from {{ source('google_ads', 'ads') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    payload -> 'campaign' ->> 'id' as campaign_id,
    payload -> 'adGroup' ->> 'id' as ad_group_id,
    -- Only some ad types have a name (e.g. responsive search ads have none).
    payload -> 'adGroupAd' -> 'ad' ->> 'name' as ad_name,
    payload -> 'adGroupAd' -> 'ad' ->> 'type' as ad_type,
    {{ google_ads_unified_status("payload -> 'adGroupAd' ->> 'status'") }} as status,
    payload -> 'adGroupAd' ->> 'status' as platform_status,
    payload -> 'adGroupAd' -> 'policySummary' ->> 'approvalStatus' as approval_status,
    _sync_id,
    _extracted_at
from source
