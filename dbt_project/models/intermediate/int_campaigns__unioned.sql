{#- The conformed campaign contract every platform's staging model speaks. -#}
{%- set conformed_columns = [
    ('tenant_id', 'text'),
    ('account_id', 'text'),
    ('campaign_id', 'text'),
    ('campaign_name', 'text'),
    ('status', 'text'),
    ('platform_status', 'text'),
    ('objective', 'text'),
    ('budget_type', 'text'),
    ('daily_budget', 'numeric'),
    ('lifetime_budget', 'numeric'),
    ('currency', 'text'),
    ('start_date', 'date'),
    ('end_date', 'date'),
    ('created_at', 'timestamptz'),
    ('updated_at', 'timestamptz'),
] -%}

{{ union_platform_models('campaigns', conformed_columns) }}
