-- Snapchat campaigns with the account currency; the account's zone gives their local dates.
with campaigns as (
    select * from {{ ref('stg_snapchat__campaigns') }}
),

accounts as (
    select tenant_id, account_id, currency, timezone from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    campaigns.tenant_id,
    campaigns.account_id,
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.status,
    campaigns.platform_status,
    campaigns.objective,
    campaigns.budget_type,
    campaigns.daily_budget,
    campaigns.lifetime_budget,
    accounts.currency,
    (campaigns.started_at at time zone accounts.timezone)::date as start_date,
    (campaigns.stopped_at at time zone accounts.timezone)::date as end_date,
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
