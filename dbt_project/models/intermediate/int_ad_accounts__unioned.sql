{#- The conformed ad account contract every platform's staging model speaks. -#}
{%- set conformed_columns = [
    ('tenant_id', 'text'),
    ('account_id', 'text'),
    ('account_name', 'text'),
    ('currency', 'text'),
    ('timezone', 'text'),
    ('status', 'text'),
    ('platform_status', 'text'),
    ('attribution_setting', 'text'),
    ('attribution_setting_source', 'text'),
] -%}

{{ union_platform_models('ad_accounts', conformed_columns) }}
