-- Meta ad sets with the account currency, which sizes their budgets' minor units.
with ad_sets as (
    select * from {{ ref('stg_meta__ad_sets') }}
),

accounts as (
    select tenant_id, account_id, currency from {{ ref('stg_meta__ad_accounts') }}
)

select
    ad_sets.tenant_id,
    ad_sets.account_id,
    ad_sets.ad_group_id,
    ad_sets.campaign_id,
    ad_sets.ad_group_name,
    ad_sets.status,
    ad_sets.platform_status,
    ad_sets.platform_effective_status,
    ad_sets.optimization_goal,
    {{ meta_budget_to_major_units('ad_sets.daily_budget_minor', 'accounts.currency') }} as daily_budget,
    {{ meta_budget_to_major_units('ad_sets.lifetime_budget_minor', 'accounts.currency') }} as lifetime_budget,
    accounts.currency,
    ad_sets._sync_id,
    ad_sets._extracted_at
from ad_sets
left join accounts
    on ad_sets.tenant_id = accounts.tenant_id
    and ad_sets.account_id = accounts.account_id
