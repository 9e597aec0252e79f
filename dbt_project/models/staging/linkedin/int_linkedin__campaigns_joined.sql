-- LinkedIn campaigns with a currency: their budgets' own, else the account's.
with campaigns as (
    select * from {{ ref('stg_linkedin__campaigns') }}
),

accounts as (
    select tenant_id, account_id, currency from {{ ref('stg_linkedin__ad_accounts') }}
)

select
    campaigns.tenant_id,
    campaigns.account_id,
    campaigns.campaign_id,
    campaigns.campaign_group_id,
    campaigns.campaign_name,
    campaigns.status,
    campaigns.platform_status,
    campaigns.objective,
    campaigns.budget_type,
    campaigns.daily_budget,
    campaigns.lifetime_budget,
    coalesce(campaigns.budget_currency, accounts.currency) as currency,
    campaigns.start_date,
    campaigns.end_date,
    campaigns.started_at,
    campaigns.stopped_at,
    campaigns.created_at,
    campaigns.updated_at,
    campaigns._sync_id,
    campaigns._extracted_at
from campaigns
left join accounts
    on campaigns.tenant_id = accounts.tenant_id
    and campaigns.account_id = accounts.account_id
