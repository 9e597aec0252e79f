with source as (
    select * from {{ source('meta', 'campaigns') }}
),

-- Budgets arrive in minor units whose size depends on the account currency.
accounts as (
    select account_id, currency from {{ ref('stg_meta__ad_accounts') }}
)

select
    source.account_id,
    source.campaign_id,
    source.payload ->> 'name' as campaign_name,
    {{ meta_unified_status("source.payload ->> 'status'") }} as status,
    source.payload ->> 'status' as platform_status,
    source.payload ->> 'effective_status' as platform_effective_status,
    source.payload ->> 'objective' as objective,
    case
        when {{ safe_cast("nullif(source.payload ->> 'daily_budget', '')", "numeric") }} > 0 then 'DAILY'
        when {{ safe_cast("nullif(source.payload ->> 'lifetime_budget', '')", "numeric") }} > 0 then 'LIFETIME'
        -- No campaign budget: Meta then budgets each ad set (no campaign budget optimization).
        else 'AD_GROUP'
    end as budget_type,
    {{ meta_budget_to_major_units("source.payload ->> 'daily_budget'", 'accounts.currency') }} as daily_budget,
    {{ meta_budget_to_major_units("source.payload ->> 'lifetime_budget'", 'accounts.currency') }} as lifetime_budget,
    accounts.currency,
    -- Meta writes times with the account's UTC offset, so the date part is the local date.
    {{ safe_cast("left(source.payload ->> 'start_time', 10)", "date") }} as start_date,
    {{ safe_cast("left(source.payload ->> 'stop_time', 10)", "date") }} as end_date,
    {{ safe_cast("source.payload ->> 'start_time'", "timestamptz") }} as started_at,
    {{ safe_cast("source.payload ->> 'stop_time'", "timestamptz") }} as stopped_at,
    {{ safe_cast("source.payload ->> 'created_time'", "timestamptz") }} as created_at,
    {{ safe_cast("source.payload ->> 'updated_time'", "timestamptz") }} as updated_at,
    source._sync_id,
    source._extracted_at
from source
left join accounts
    on source.account_id = accounts.account_id
