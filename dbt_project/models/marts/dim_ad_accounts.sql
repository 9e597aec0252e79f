{#-
    One row per ad account of a tenant (tenant_id, platform, account_id). tenant_id is the raw rows'
    own: a connection's synced rows land with its tenant, imported files' with the tenant of the
    import ('default' when the import names none). Two tenants may hold the same account id; each
    gets its own row.
-#}
select
    tenant_id,
    platform,
    source,
    account_id,
    account_name,
    currency,
    timezone,
    status,
    platform_status,
    attribution_setting,
    attribution_setting_source
from {{ ref('int_ad_accounts__unioned') }}
