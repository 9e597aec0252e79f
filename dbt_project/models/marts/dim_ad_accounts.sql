{#-
    tenant_id: the tenant whose platform connection (app.platform_connections) lists the account,
    else the one whose connection of that platform takes all its accounts (account_ids null), else
    var('default_tenant_id'). Accounts known only from imported files get the default tenant.
-#}
with accounts as (
    select * from {{ ref('int_ad_accounts__unioned') }}
),

connections as (
    select tenant_id, platform, account_ids
    from {{ source('app', 'platform_connections') }}
    where status <> 'disabled'
),

tenants as (
    select
        accounts.platform,
        accounts.account_id,
        -- A connection naming the account beats one taking every account; ties: lowest tenant id.
        (array_agg(
            connections.tenant_id
            order by (connections.account_ids is null), connections.tenant_id
        ))[1] as tenant_id
    from accounts
    inner join connections
        on connections.platform = accounts.platform
        and (
            connections.account_ids is null
            or accounts.account_id = any(connections.account_ids)
            or 'act_' || accounts.account_id = any(connections.account_ids)
        )
    group by accounts.platform, accounts.account_id
)

select
    accounts.platform,
    accounts.source,
    accounts.account_id,
    accounts.account_name,
    accounts.currency,
    accounts.timezone,
    accounts.status,
    accounts.platform_status,
    accounts.attribution_setting,
    accounts.attribution_setting_source,
    coalesce(tenants.tenant_id, '{{ var("default_tenant_id") }}') as tenant_id
from accounts
left join tenants
    on accounts.platform = tenants.platform
    and accounts.account_id = tenants.account_id
