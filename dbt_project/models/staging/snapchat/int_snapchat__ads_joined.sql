-- Snap's ads name their ad squad only; the campaign comes from the ad squad.
with ads as (
    select * from {{ ref('stg_snapchat__ads') }}
),

ad_squads as (
    select tenant_id, account_id, ad_group_id, campaign_id from {{ ref('stg_snapchat__ad_squads') }}
)

select
    ads.tenant_id,
    ads.account_id,
    ads.ad_id,
    ad_squads.campaign_id,
    ads.ad_group_id,
    ads.ad_name,
    ads.status,
    ads.platform_status,
    ads.review_status,
    ads.creative_id,
    ads.created_at,
    ads._sync_id,
    ads._extracted_at
from ads
left join ad_squads
    on ads.tenant_id = ad_squads.tenant_id
    and ads.account_id = ad_squads.account_id
    and ads.ad_group_id = ad_squads.ad_group_id
