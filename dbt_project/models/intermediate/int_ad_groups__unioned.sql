{#- The conformed ad group contract (Meta ad sets, Snapchat ad squads): every platform's listing in one shape. -#}
{%- set conformed_columns = [
    ('tenant_id', 'text'),
    ('account_id', 'text'),
    ('ad_group_id', 'text'),
    ('campaign_id', 'text'),
    ('ad_group_name', 'text'),
    ('status', 'text'),
    ('platform_status', 'text'),
] -%}

{{ union_platform_models('ad_groups', conformed_columns, one_source_per=['tenant_id', 'platform', 'account_id', 'ad_group_id']) }}
