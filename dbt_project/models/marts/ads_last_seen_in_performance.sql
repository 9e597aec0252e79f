{#-
    One row per ad that reports performance: its latest row in fct_ad_performance_daily (day, names,
    ad group, campaign, source). Kept incrementally (macros/last_seen_in_performance.sql), so dim_ads
    infers unlisted ads from this small table instead of scanning the whole fact.
-#}
{%- set key_columns = ['tenant_id', 'platform', 'account_id', 'ad_id'] -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=key_columns,
        on_schema_change='fail',
        indexes=[{'columns': key_columns + ['last_seen_day']}],
        post_hook=["{{ delete_keys_gone_from_performance(['tenant_id', 'platform', 'account_id', 'ad_id']) }}"],
    )
}}

{{ last_seen_in_performance(
    key_columns,
    ['source', 'ad_name', 'ad_group_id', 'ad_group_name', 'campaign_id', 'campaign_name'],
    tie_break=['source', 'ad_name nulls last', 'ad_group_id nulls last', 'campaign_id nulls last'],
) }}
