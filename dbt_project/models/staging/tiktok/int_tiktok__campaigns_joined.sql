-- TikTok campaigns with the advertiser's currency and the schedule of their ad groups.
with campaigns as (
    select * from {{ ref('stg_tiktok__campaigns') }}
),

accounts as (
    select tenant_id, account_id, currency from {{ ref('stg_tiktok__ad_accounts') }}
),

-- TikTok schedules ad groups, not campaigns: a campaign runs from its first ad group's start to its
-- last ad group's end, and is open-ended while any of its ad groups is.
schedules as (
    select
        tenant_id,
        account_id,
        campaign_id,
        min(started_at) as started_at,
        min(start_date) as start_date,
        case when bool_and(stopped_at is not null) then max(stopped_at) end as stopped_at,
        case when bool_and(end_date is not null) then max(end_date) end as end_date
    from {{ ref('int_tiktok__ad_groups_joined') }}
    group by tenant_id, account_id, campaign_id
)

select
    campaigns.tenant_id,
    campaigns.account_id,
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.status,
    campaigns.platform_status,
    campaigns.platform_effective_status,
    campaigns.objective,
    campaigns.budget_type,
    campaigns.daily_budget,
    campaigns.lifetime_budget,
    accounts.currency,
    schedules.start_date,
    schedules.end_date,
    schedules.started_at,
    schedules.stopped_at,
    campaigns.created_at,
    campaigns.updated_at,
    campaigns._sync_id,
    campaigns._extracted_at
from campaigns
left join accounts
    on campaigns.tenant_id = accounts.tenant_id
    and campaigns.account_id = accounts.account_id
left join schedules
    on campaigns.tenant_id = schedules.tenant_id
    and campaigns.account_id = schedules.account_id
    and campaigns.campaign_id = schedules.campaign_id
