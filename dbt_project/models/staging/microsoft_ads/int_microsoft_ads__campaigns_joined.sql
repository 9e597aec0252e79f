-- Microsoft Advertising campaigns with their account's currency and the dates of their ad groups.
with campaigns as (
    select * from {{ ref('stg_microsoft_ads__campaigns') }}
),

accounts as (
    select tenant_id, account_id, currency from {{ ref('stg_microsoft_ads__ad_accounts') }}
),

-- Microsoft campaigns carry no dates: their ad groups do. A campaign runs from its first ad
-- group's start to its last ad group's end (open-ended when any ad group is).
ad_group_dates as (
    select
        tenant_id,
        account_id,
        campaign_id,
        min(start_date) as start_date,
        case when bool_and(end_date is not null) then max(end_date) end as end_date
    from {{ ref('stg_microsoft_ads__ad_groups') }}
    group by tenant_id, account_id, campaign_id
)

select
    campaigns.tenant_id,
    campaigns.account_id,
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.status,
    campaigns.platform_status,
    campaigns.objective,
    campaigns.campaign_type,
    campaigns.budget_type,
    campaigns.platform_budget_type,
    campaigns.daily_budget,
    campaigns.lifetime_budget,
    campaigns.shared_budget_id,
    campaigns.bid_strategy,
    accounts.currency,
    ad_group_dates.start_date,
    ad_group_dates.end_date,
    campaigns.created_at,
    campaigns.updated_at,
    campaigns._sync_id,
    campaigns._extracted_at
from campaigns
left join accounts
    on campaigns.tenant_id = accounts.tenant_id
    and campaigns.account_id = accounts.account_id
left join ad_group_dates
    on campaigns.tenant_id = ad_group_dates.tenant_id
    and campaigns.account_id = ad_group_dates.account_id
    and campaigns.campaign_id = ad_group_dates.campaign_id
