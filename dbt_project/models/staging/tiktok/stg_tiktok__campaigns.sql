with source as (
    select * from {{ source('tiktok', 'campaigns') }}
),

parsed as (
    select
        source.*,
        payload ->> 'budget_mode' as budget_mode,
        {{ safe_cast("nullif(payload ->> 'budget', '')", "numeric") }} as budget
    from source
)

select
    tenant_id,
    account_id,
    campaign_id,
    payload ->> 'campaign_name' as campaign_name,
    {{ tiktok_unified_status("payload ->> 'operation_status'", "payload ->> 'secondary_status'", 'CAMPAIGN') }} as status,
    payload ->> 'operation_status' as platform_status,
    payload ->> 'secondary_status' as platform_effective_status,
    payload ->> 'objective_type' as objective,
    case budget_mode
        when 'BUDGET_MODE_DAY' then 'DAILY'
        when 'BUDGET_MODE_TOTAL' then 'LIFETIME'
        -- No campaign budget: each ad group holds its own.
        when 'BUDGET_MODE_INFINITE' then 'AD_GROUP'
    end as budget_type,
    -- Budgets are JSON numbers in major units of the advertiser's currency.
    case when budget_mode = 'BUDGET_MODE_DAY' then budget end as daily_budget,
    case when budget_mode = 'BUDGET_MODE_TOTAL' then budget end as lifetime_budget,
    -- UTC wall-clock text.
    {{ tiktok_utc_time("payload ->> 'create_time'") }} as created_at,
    {{ tiktok_utc_time("payload ->> 'modify_time'") }} as updated_at,
    _sync_id,
    _extracted_at
from parsed
