{#- The conformed daily ad performance contract every platform's staging model speaks. -#}
{%- set conformed_columns = [
    ('tenant_id', 'text'),
    ('date_day', 'date'),
    ('account_id', 'text'),
    ('campaign_id', 'text'),
    ('ad_group_id', 'text'),
    ('ad_id', 'text'),
    ('campaign_name', 'text'),
    ('ad_group_name', 'text'),
    ('ad_name', 'text'),
    ('currency', 'text'),
    ('spend', 'numeric'),
    ('impressions', 'bigint'),
    ('clicks', 'bigint'),
    ('conversions', 'numeric'),
    ('conversion_value', 'numeric'),
    ('_extracted_at', 'timestamptz'),
] -%}

{{ union_platform_models('ad_performance_daily', conformed_columns) }}
