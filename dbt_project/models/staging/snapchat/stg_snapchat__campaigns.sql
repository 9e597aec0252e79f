with source as (
    select * from {{ source('snapchat', 'campaigns') }}
),

-- Snap writes campaign times in UTC; the account's zone gives their local dates.
accounts as (
    select account_id, currency, timezone from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    source.account_id,
    source.campaign_id,
    source.payload ->> 'name' as campaign_name,
    {{ snapchat_unified_status("source.payload ->> 'status'") }} as status,
    source.payload ->> 'status' as platform_status,
    -- The current objective model (SALES, TRAFFIC, ...), else the legacy objective.
    coalesce(
        source.payload -> 'objective_v2_properties' ->> 'objective_v2_type',
        source.payload ->> 'objective'
    ) as objective,
    case
        when {{ safe_cast("nullif(source.payload ->> 'daily_budget_micro', '')", "numeric") }} > 0 then 'DAILY'
        when {{ safe_cast("nullif(source.payload ->> 'lifetime_spend_cap_micro', '')", "numeric") }} > 0 then 'LIFETIME'
        -- No campaign cap: the ad squads hold the budgets.
        else 'AD_GROUP'
    end as budget_type,
    {{ snapchat_micros_to_major_units("source.payload ->> 'daily_budget_micro'") }} as daily_budget,
    {{ snapchat_micros_to_major_units("source.payload ->> 'lifetime_spend_cap_micro'") }} as lifetime_budget,
    accounts.currency,
    ({{ safe_cast("source.payload ->> 'start_time'", "timestamptz") }} at time zone accounts.timezone)::date as start_date,
    ({{ safe_cast("source.payload ->> 'end_time'", "timestamptz") }} at time zone accounts.timezone)::date as end_date,
    {{ safe_cast("source.payload ->> 'start_time'", "timestamptz") }} as started_at,
    {{ safe_cast("source.payload ->> 'end_time'", "timestamptz") }} as stopped_at,
    {{ safe_cast("source.payload ->> 'created_at'", "timestamptz") }} as created_at,
    {{ safe_cast("source.payload ->> 'updated_at'", "timestamptz") }} as updated_at,
    source._sync_id,
    source._extracted_at
from source
left join accounts
    on source.account_id = accounts.account_id
