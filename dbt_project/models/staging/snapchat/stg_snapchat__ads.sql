with source as (
    select * from {{ source('snapchat', 'ads') }}
),

-- Snap's ads name their ad squad only; the campaign comes from the ad squad.
ad_squads as (
    select account_id, ad_group_id, campaign_id from {{ ref('stg_snapchat__ad_squads') }}
)

select
    source.account_id,
    source.ad_id,
    ad_squads.campaign_id,
    -- House vocabulary: a Snapchat ad squad is an ad group.
    source.payload ->> 'ad_squad_id' as ad_group_id,
    source.payload ->> 'name' as ad_name,
    {{ snapchat_unified_status("source.payload ->> 'status'") }} as status,
    source.payload ->> 'status' as platform_status,
    source.payload ->> 'review_status' as review_status,
    source.payload ->> 'creative_id' as creative_id,
    {{ safe_cast("source.payload ->> 'created_at'", "timestamptz") }} as created_at,
    source._sync_id,
    source._extracted_at
from source
left join ad_squads
    on source.account_id = ad_squads.account_id
    and source.payload ->> 'ad_squad_id' = ad_squads.ad_group_id
