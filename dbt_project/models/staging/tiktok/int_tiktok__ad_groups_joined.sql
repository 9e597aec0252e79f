-- TikTok ad groups with the advertiser's currency and the local (advertiser timezone) dates of
-- their schedule.
with ad_groups as (
    select * from {{ ref('stg_tiktok__ad_groups') }}
),

accounts as (
    select tenant_id, account_id, currency, timezone from {{ ref('stg_tiktok__ad_accounts') }}
)

select
    ad_groups.tenant_id,
    ad_groups.account_id,
    ad_groups.ad_group_id,
    ad_groups.campaign_id,
    ad_groups.ad_group_name,
    ad_groups.status,
    ad_groups.platform_status,
    ad_groups.platform_effective_status,
    ad_groups.optimization_goal,
    ad_groups.daily_budget,
    ad_groups.lifetime_budget,
    accounts.currency,
    ad_groups.started_at,
    ad_groups.stopped_at,
    (ad_groups.started_at at time zone accounts.timezone)::date as start_date,
    (ad_groups.stopped_at at time zone accounts.timezone)::date as end_date,
    ad_groups._sync_id,
    ad_groups._extracted_at
from ad_groups
left join accounts
    on ad_groups.tenant_id = accounts.tenant_id
    and ad_groups.account_id = accounts.account_id
