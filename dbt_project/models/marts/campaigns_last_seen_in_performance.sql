{#-
    One row per campaign that reports performance: its latest row in fct_ad_performance_daily (day,
    name, source, currency). Kept incrementally (macros/last_seen_in_performance.sql), so dim_campaigns
    infers unlisted campaigns from this small table instead of aggregating the whole fact.
-#}
{%- set key_columns = ['tenant_id', 'platform', 'account_id', 'campaign_id'] -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=key_columns,
        on_schema_change='fail',
        indexes=[{'columns': key_columns + ['last_seen_day']}],
        post_hook=["{{ delete_keys_gone_from_performance(['tenant_id', 'platform', 'account_id', 'campaign_id']) }}"],
    )
}}

{{ last_seen_in_performance(
    key_columns,
    ['campaign_name', 'source', 'currency'],
    tie_break=['campaign_name nulls last', 'source', 'currency nulls last'],
) }}
