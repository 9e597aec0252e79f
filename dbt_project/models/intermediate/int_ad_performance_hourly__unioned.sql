{#- The conformed hourly ad performance contract every platform's hourly staging model speaks: the
    daily contract plus the hour, on the account's clock and as an instant. -#}
{%- set conformed_columns = [
    ('tenant_id', 'text'),
    ('date_day', 'date'),
    ('hour_of_day', 'integer'),
    ('hour_start_local', 'timestamp'),
    ('hour_start_utc', 'timestamptz'),
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

{{ union_platform_models('ad_performance_hourly', conformed_columns) }}
