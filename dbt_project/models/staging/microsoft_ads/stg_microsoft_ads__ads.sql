with source as (
    select * from {{ source('microsoft_ads', 'ads') }}
)

select
    tenant_id,
    account_id,
    ad_id,
    -- Added by the connector: the API lists ads per ad group without naming their parents.
    payload ->> '_campaign_id' as campaign_id,
    payload ->> '_ad_group_id' as ad_group_id,
    -- Microsoft ads have no name: the first headline stands in (reports call it AdTitle).
    payload -> 'Headlines' -> 0 -> 'Asset' ->> 'Text' as ad_name,
    payload ->> 'Type' as ad_type,
    {{ microsoft_ads_unified_status("payload ->> 'Status'") }} as status,
    payload ->> 'Status' as platform_status,
    payload ->> 'EditorialStatus' as editorial_status,
    payload -> 'FinalUrls' ->> 0 as final_url,
    _sync_id,
    _extracted_at
from source
