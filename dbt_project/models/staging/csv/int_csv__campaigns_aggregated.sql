-- Files carry no campaign listing: a campaign is whatever its performance rows say.
-- Not a staging model: no source table lists campaigns. Derived from the imported rows of both raw
-- tables (daily and hourly) through csv_file_rows(), the rows staging reads, rather than from the
-- two staging views: the hourly view belongs to the intraday (hourly) assets, and daily models
-- must never wait for it.
with file_rows as (
    select file_rows.*, file_rows.payload ->> 'campaign_id' as campaign_id
    from ({{ csv_file_rows() }}) as file_rows
),

accounts as (
    select tenant_id, platform, account_id, currency from {{ ref('int_csv__ad_accounts_aggregated') }}
),

campaigns as (
    select
        tenant_id,
        platform,
        account_id,
        campaign_id,
        {{ csv_latest("nullif(payload ->> 'campaign_name', '')") }} as campaign_name,
        min(date_day) as first_reported_date,
        max(date_day) as last_reported_date,
        max(_extracted_at) as _extracted_at
    from file_rows
    group by tenant_id, platform, account_id, campaign_id
)

select
    campaigns.tenant_id,
    campaigns.platform,
    campaigns.account_id,
    campaigns.campaign_id,
    campaigns.campaign_name,
    -- A file says nothing about status, objective or budget. UNKNOWN (not ACTIVE): nothing may
    -- treat a file's campaign as one it can pause or re-budget.
    'UNKNOWN'::text as status,
    null::text as platform_status,
    null::text as objective,
    null::text as budget_type,
    null::numeric as daily_budget,
    null::numeric as lifetime_budget,
    accounts.currency,
    null::date as start_date,
    null::date as end_date,
    null::timestamptz as created_at,
    null::timestamptz as updated_at,
    campaigns.first_reported_date,
    campaigns.last_reported_date,
    campaigns._extracted_at
from campaigns
left join accounts
    on campaigns.tenant_id = accounts.tenant_id
    and campaigns.platform = accounts.platform
    and campaigns.account_id = accounts.account_id
