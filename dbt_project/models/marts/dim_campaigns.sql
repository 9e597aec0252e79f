with listed_campaigns as (
    select * from {{ ref('int_campaigns__unioned') }}
),

accounts as (
    select tenant_id, platform, account_id, currency from {{ ref('dim_ad_accounts') }}
),

-- Campaigns can report performance without being in the entity snapshot (the listing lags or
-- omits deleted campaigns). They still get a row, so every fact row has its dimension: name, source
-- and currency of their latest fact row, from the incremental last-seen state (not the whole fact).
campaigns_seen_in_performance as (
    select tenant_id, platform, account_id, campaign_id, campaign_name, source, currency
    from {{ ref('campaigns_last_seen_in_performance') }}
),

inferred_campaigns as (
    select seen.*
    from campaigns_seen_in_performance as seen
    where not exists (
        select 1
        from listed_campaigns as listed
        where listed.tenant_id = seen.tenant_id
            and listed.platform = seen.platform
            and listed.account_id = seen.account_id
            and listed.campaign_id = seen.campaign_id
    )
)

select
    listed.tenant_id,
    listed.platform,
    listed.source,
    listed.account_id,
    listed.campaign_id,
    listed.campaign_name,
    listed.status,
    listed.platform_status,
    listed.objective,
    listed.budget_type,
    listed.daily_budget,
    listed.lifetime_budget,
    coalesce(listed.currency, accounts.currency) as currency,
    listed.start_date,
    listed.end_date,
    listed.created_at,
    listed.updated_at,
    false as is_inferred
from listed_campaigns as listed
left join accounts
    on listed.tenant_id = accounts.tenant_id
    and listed.platform = accounts.platform
    and listed.account_id = accounts.account_id

union all

select
    tenant_id,
    platform,
    source,
    account_id,
    campaign_id,
    campaign_name,
    null::text as status,
    null::text as platform_status,
    null::text as objective,
    null::text as budget_type,
    null::numeric as daily_budget,
    null::numeric as lifetime_budget,
    currency,
    null::date as start_date,
    null::date as end_date,
    null::timestamptz as created_at,
    null::timestamptz as updated_at,
    true as is_inferred
from inferred_campaigns
