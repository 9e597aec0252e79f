with source as (
    select * from {{ source('google_ads', 'ad_groups') }}
)

select
    tenant_id,
    account_id,
    ad_group_id,
    payload -> 'campaign' ->> 'id' as campaign_id,
    payload -> 'adGroup' ->> 'name' as ad_group_name,
    {{ google_ads_unified_status("payload -> 'adGroup' ->> 'status'") }} as status,
    payload -> 'adGroup' ->> 'status' as platform_status,
    payload -> 'adGroup' ->> 'type' as ad_group_type,
    round({{ google_ads_micros_to_major("payload -> 'adGroup' ->> 'cpcBidMicros'") }}, 2) as cpc_bid,
    _sync_id,
    _extracted_at
from source
