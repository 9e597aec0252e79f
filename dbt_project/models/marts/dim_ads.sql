{#-
    One row per ad (tenant_id, platform, account_id, ad_id): its name, ad group, campaign and unified status.
    Ads come from each platform's ad listing (int_ads__unioned); ads that report performance but
    are missing from the listing (deleted ads the listing omits, ads of imported files, which have
    no listing) get an inferred row from their latest fact row (ads_last_seen_in_performance), so every fact row
    has its ad.
-#}
with listed_ads as (
    select * from {{ ref('int_ads__unioned') }}
),

ad_groups as (
    select tenant_id, platform, account_id, ad_group_id, ad_group_name, status from {{ ref('int_ad_groups__unioned') }}
),

campaigns as (
    select tenant_id, platform, account_id, campaign_id, campaign_name from {{ ref('dim_campaigns') }}
),

-- Ads with performance but no listing row: their latest reported ids and names (the incremental
-- last-seen state, not a scan of the whole fact).
ads_seen_only_in_performance as (
    select
        seen.tenant_id,
        seen.platform,
        seen.source,
        seen.account_id,
        seen.ad_id,
        seen.ad_name,
        seen.ad_group_id,
        seen.ad_group_name,
        seen.campaign_id,
        seen.campaign_name
    from {{ ref('ads_last_seen_in_performance') }} as seen
    where not exists (
        select 1
        from listed_ads as listed
        where listed.tenant_id = seen.tenant_id
            and listed.platform = seen.platform
            and listed.account_id = seen.account_id
            and listed.ad_id = seen.ad_id
    )
)

select
    listed.tenant_id,
    listed.platform,
    listed.source,
    listed.account_id,
    listed.ad_id,
    listed.ad_name,
    listed.ad_group_id,
    ad_groups.ad_group_name,
    listed.campaign_id,
    campaigns.campaign_name,
    listed.status,
    listed.platform_status,
    ad_groups.status as ad_group_status,
    false as is_inferred
from listed_ads as listed
left join ad_groups
    on listed.tenant_id = ad_groups.tenant_id
    and listed.platform = ad_groups.platform
    and listed.account_id = ad_groups.account_id
    and listed.ad_group_id = ad_groups.ad_group_id
left join campaigns
    on listed.tenant_id = campaigns.tenant_id
    and listed.platform = campaigns.platform
    and listed.account_id = campaigns.account_id
    and listed.campaign_id = campaigns.campaign_id

union all

select
    seen.tenant_id,
    seen.platform,
    seen.source,
    seen.account_id,
    seen.ad_id,
    seen.ad_name,
    seen.ad_group_id,
    seen.ad_group_name,
    seen.campaign_id,
    seen.campaign_name,
    -- A file says nothing about an ad's state (UNKNOWN); a connector's ad missing from its listing
    -- has no status (null), as inferred campaigns in dim_campaigns.
    case when seen.source <> seen.platform then 'UNKNOWN' end as status,
    null::text as platform_status,
    null::text as ad_group_status,
    true as is_inferred
from ads_seen_only_in_performance as seen
