with source as (
    select * from {{ source('meta', 'adsets') }}
),

-- Budgets arrive in minor units whose size depends on the account currency.
accounts as (
    select account_id, currency from {{ ref('stg_meta__ad_accounts') }}
)

select
    source.account_id,
    -- House vocabulary: a Meta ad set is an ad group.
    source.adset_id as ad_group_id,
    source.payload ->> 'campaign_id' as campaign_id,
    source.payload ->> 'name' as ad_group_name,
    {{ meta_unified_status("source.payload ->> 'status'") }} as status,
    source.payload ->> 'status' as platform_status,
    source.payload ->> 'effective_status' as platform_effective_status,
    source.payload ->> 'optimization_goal' as optimization_goal,
    {{ meta_budget_to_major_units("source.payload ->> 'daily_budget'", 'accounts.currency') }} as daily_budget,
    {{ meta_budget_to_major_units("source.payload ->> 'lifetime_budget'", 'accounts.currency') }} as lifetime_budget,
    accounts.currency,
    source._sync_id,
    source._extracted_at
from source
left join accounts
    on source.account_id = accounts.account_id
