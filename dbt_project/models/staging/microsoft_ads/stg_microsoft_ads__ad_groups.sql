with source as (
    select * from {{ source('microsoft_ads', 'ad_groups') }}
)

select
    tenant_id,
    account_id,
    ad_group_id,
    -- Added by the connector: the API lists ad groups per campaign without naming it.
    payload ->> '_campaign_id' as campaign_id,
    payload ->> 'Name' as ad_group_name,
    {{ microsoft_ads_unified_status("payload ->> 'Status'") }} as status,
    payload ->> 'Status' as platform_status,
    payload ->> 'AdGroupType' as ad_group_type,
    payload ->> 'Network' as network,
    round({{ safe_cast("nullif(payload -> 'CpcBid' ->> 'Amount', '')", "numeric") }}, 2) as cpc_bid,
    {{ microsoft_ads_date("payload -> 'StartDate'") }} as start_date,
    {{ microsoft_ads_date("payload -> 'EndDate'") }} as end_date,
    _sync_id,
    _extracted_at
from source
