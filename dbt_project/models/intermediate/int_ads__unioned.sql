{#- The conformed ad contract: every platform's ad listing in one shape (imported files have none). -#}
{%- set conformed_columns = [
    ('tenant_id', 'text'),
    ('account_id', 'text'),
    ('ad_id', 'text'),
    ('campaign_id', 'text'),
    ('ad_group_id', 'text'),
    ('ad_name', 'text'),
    ('status', 'text'),
    ('platform_status', 'text'),
] -%}

{{ union_platform_models('ads', conformed_columns, one_source_per=['tenant_id', 'platform', 'account_id', 'ad_id']) }}
