-- Snapchat ad squads with the account currency their budgets are in.
with ad_squads as (
    select * from {{ ref('stg_snapchat__ad_squads') }}
),

accounts as (
    select tenant_id, account_id, currency from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    ad_squads.tenant_id,
    ad_squads.account_id,
    ad_squads.ad_group_id,
    ad_squads.campaign_id,
    ad_squads.ad_group_name,
    ad_squads.status,
    ad_squads.platform_status,
    ad_squads.ad_squad_type,
    ad_squads.optimization_goal,
    ad_squads.daily_budget,
    ad_squads.lifetime_budget,
    accounts.currency,
    ad_squads._sync_id,
    ad_squads._extracted_at
from ad_squads
left join accounts
    on ad_squads.tenant_id = accounts.tenant_id
    and ad_squads.account_id = accounts.account_id
