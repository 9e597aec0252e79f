with source as (
    select * from {{ source('meta', 'campaigns') }}
)

select
    tenant_id,
    account_id,
    campaign_id,
    payload ->> 'name' as campaign_name,
    {{ meta_unified_status("payload ->> 'status'") }} as status,
    payload ->> 'status' as platform_status,
    payload ->> 'effective_status' as platform_effective_status,
    payload ->> 'objective' as objective,
    case
        when {{ safe_cast("nullif(payload ->> 'daily_budget', '')", "numeric") }} > 0 then 'DAILY'
        when {{ safe_cast("nullif(payload ->> 'lifetime_budget', '')", "numeric") }} > 0 then 'LIFETIME'
        -- No campaign budget: Meta then budgets each ad set (no campaign budget optimization).
        else 'AD_GROUP'
    end as budget_type,
    -- Minor units of the account currency; int_meta__campaigns_joined divides by the currency's offset.
    {{ safe_cast("nullif(payload ->> 'daily_budget', '')", "numeric") }} as daily_budget_minor,
    {{ safe_cast("nullif(payload ->> 'lifetime_budget', '')", "numeric") }} as lifetime_budget_minor,
    -- Meta writes times with the account's UTC offset, so the date part is the local date.
    {{ safe_cast("left(payload ->> 'start_time', 10)", "date") }} as start_date,
    {{ safe_cast("left(payload ->> 'stop_time', 10)", "date") }} as end_date,
    {{ safe_cast("payload ->> 'start_time'", "timestamptz") }} as started_at,
    {{ safe_cast("payload ->> 'stop_time'", "timestamptz") }} as stopped_at,
    {{ safe_cast("payload ->> 'created_time'", "timestamptz") }} as created_at,
    {{ safe_cast("payload ->> 'updated_time'", "timestamptz") }} as updated_at,
    _sync_id,
    _extracted_at
from source
