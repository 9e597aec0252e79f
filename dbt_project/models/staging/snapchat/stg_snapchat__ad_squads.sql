with source as (
    select * from {{ source('snapchat', 'ad_squads') }}
),

accounts as (
    select account_id, currency from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    source.account_id,
    -- House vocabulary: a Snapchat ad squad is an ad group.
    source.ad_squad_id as ad_group_id,
    source.payload ->> 'campaign_id' as campaign_id,
    source.payload ->> 'name' as ad_group_name,
    {{ snapchat_unified_status("source.payload ->> 'status'") }} as status,
    source.payload ->> 'status' as platform_status,
    source.payload ->> 'type' as ad_squad_type,
    source.payload ->> 'optimization_goal' as optimization_goal,
    {{ snapchat_micros_to_major_units("source.payload ->> 'daily_budget_micro'") }} as daily_budget,
    {{ snapchat_micros_to_major_units("source.payload ->> 'lifetime_budget_micro'") }} as lifetime_budget,
    accounts.currency,
    source._sync_id,
    source._extracted_at
from source
left join accounts
    on source.account_id = accounts.account_id
