-- Meta campaigns with the account currency, which sizes their budgets' minor units.
with campaigns as (
    select * from {{ ref('stg_meta__campaigns') }}
),

accounts as (
    select tenant_id, account_id, currency from {{ ref('stg_meta__ad_accounts') }}
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
    {{ meta_budget_to_major_units('campaigns.daily_budget_minor', 'accounts.currency') }} as daily_budget,
    {{ meta_budget_to_major_units('campaigns.lifetime_budget_minor', 'accounts.currency') }} as lifetime_budget,
    accounts.currency,
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
