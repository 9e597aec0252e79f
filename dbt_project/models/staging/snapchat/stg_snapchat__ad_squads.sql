with source as (
    select * from {{ source('snapchat', 'ad_squads') }}
)

select
    tenant_id,
    account_id,
    -- House vocabulary: a Snapchat ad squad is an ad group.
    ad_squad_id as ad_group_id,
    payload ->> 'campaign_id' as campaign_id,
    payload ->> 'name' as ad_group_name,
    {{ snapchat_unified_status("payload ->> 'status'") }} as status,
    payload ->> 'status' as platform_status,
    payload ->> 'type' as ad_squad_type,
    payload ->> 'optimization_goal' as optimization_goal,
    {{ snapchat_micros_to_major_units("payload ->> 'daily_budget_micro'") }} as daily_budget,
    {{ snapchat_micros_to_major_units("payload ->> 'lifetime_budget_micro'") }} as lifetime_budget,
    _sync_id,
    _extracted_at
from source
