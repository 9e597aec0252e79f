with source as (
    select * from {{ source('meta', 'adsets') }}
)

select
    tenant_id,
    account_id,
    -- House vocabulary: a Meta ad set is an ad group.
    adset_id as ad_group_id,
    payload ->> 'campaign_id' as campaign_id,
    payload ->> 'name' as ad_group_name,
    {{ meta_unified_status("payload ->> 'status'") }} as status,
    payload ->> 'status' as platform_status,
    payload ->> 'effective_status' as platform_effective_status,
    payload ->> 'optimization_goal' as optimization_goal,
    -- Minor units of the account currency; int_meta__ad_sets_joined divides by the currency's offset.
    {{ safe_cast("nullif(payload ->> 'daily_budget', '')", "numeric") }} as daily_budget_minor,
    {{ safe_cast("nullif(payload ->> 'lifetime_budget', '')", "numeric") }} as lifetime_budget_minor,
    _sync_id,
    _extracted_at
from source
