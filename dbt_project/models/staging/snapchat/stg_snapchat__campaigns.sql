with source as (
    select * from {{ source('snapchat', 'campaigns') }}
)

select
    tenant_id,
    account_id,
    campaign_id,
    payload ->> 'name' as campaign_name,
    {{ snapchat_unified_status("payload ->> 'status'") }} as status,
    payload ->> 'status' as platform_status,
    -- The current objective model (SALES, TRAFFIC, ...), else the legacy objective.
    coalesce(
        payload -> 'objective_v2_properties' ->> 'objective_v2_type',
        payload ->> 'objective'
    ) as objective,
    case
        when {{ safe_cast("nullif(payload ->> 'daily_budget_micro', '')", "numeric") }} > 0 then 'DAILY'
        when {{ safe_cast("nullif(payload ->> 'lifetime_spend_cap_micro', '')", "numeric") }} > 0 then 'LIFETIME'
        -- No campaign cap: the ad squads hold the budgets.
        else 'AD_GROUP'
    end as budget_type,
    {{ snapchat_micros_to_major_units("payload ->> 'daily_budget_micro'") }} as daily_budget,
    {{ snapchat_micros_to_major_units("payload ->> 'lifetime_spend_cap_micro'") }} as lifetime_budget,
    -- Snap writes campaign times in UTC; int_snapchat__campaigns_joined gives their local dates.
    {{ safe_cast("payload ->> 'start_time'", "timestamptz") }} as started_at,
    {{ safe_cast("payload ->> 'end_time'", "timestamptz") }} as stopped_at,
    {{ safe_cast("payload ->> 'created_at'", "timestamptz") }} as created_at,
    {{ safe_cast("payload ->> 'updated_at'", "timestamptz") }} as updated_at,
    _sync_id,
    _extracted_at
from source
