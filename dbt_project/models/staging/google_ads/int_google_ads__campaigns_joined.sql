-- Google Ads campaigns with their account's currency (for rows whose payload lacks it) and
-- timezone (start and stop times are on the account's clock).
with campaigns as (
    select * from {{ ref('stg_google_ads__campaigns') }}
),

accounts as (
    select tenant_id, account_id, currency, timezone from {{ ref('stg_google_ads__ad_accounts') }}
)

select
    campaigns.tenant_id,
    campaigns.account_id,
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.status,
    campaigns.platform_status,
    campaigns.platform_serving_status,
    campaigns.objective,
    campaigns.bidding_strategy_type,
    campaigns.budget_type,
    campaigns.daily_budget,
    campaigns.lifetime_budget,
    campaigns.is_shared_budget,
    campaigns.budget_resource_name,
    coalesce(campaigns.reported_currency, accounts.currency) as currency,
    campaigns.start_date,
    campaigns.end_date,
    campaigns.start_time_local at time zone accounts.timezone as started_at,
    -- The end is the campaign's last second: it stops one second later.
    (campaigns.end_time_local + interval '1 second') at time zone accounts.timezone as stopped_at,
    campaigns.created_at,
    campaigns.updated_at,
    campaigns._sync_id,
    campaigns._extracted_at
from campaigns
left join accounts
    on campaigns.tenant_id = accounts.tenant_id
    and campaigns.account_id = accounts.account_id
