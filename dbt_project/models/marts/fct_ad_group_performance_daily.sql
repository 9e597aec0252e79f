{#-
    Daily performance per ad group, rolled up from fct_ad_performance_daily. Incremental like the ad
    fact (delete+insert on date_day): a run rebuilds the days between min_date and
    max_date that Dagster passes, or else the last var('lookback_days') days before its own
    newest day (and every newer day of the ad fact); a full refresh yields the same rows.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='date_day',
        partition_by_month='date_day',
        on_schema_change='fail',
        indexes=[
            {'columns': ['date_day']},
            {'columns': ['tenant_id', 'platform', 'account_id', 'campaign_id', 'ad_group_id', 'date_day']},
        ],
    )
}}

with ad_performance as (
    select * from {{ ref('fct_ad_performance_daily') }}
    {{ daily_rollup_window() }}
),

rolled_up as (
    select
        tenant_id,
        date_day,
        platform,
        -- One source per account-day (the unions prefer the connector): grouping by it never splits.
        source,
        account_id,
        campaign_id,
        ad_group_id,
        max(campaign_name) as campaign_name,
        max(ad_group_name) as ad_group_name,
        {{ summed_ad_metrics() }},
        count(*) as reporting_ad_count,
        max(_extracted_at) as _extracted_at
    from ad_performance
    group by tenant_id, date_day, platform, source, account_id, campaign_id, ad_group_id
)

select
    tenant_id,
    date_day,
    platform,
    source,
    account_id,
    campaign_id,
    ad_group_id,
    campaign_name,
    ad_group_name,
    currency,
    spend,
    impressions,
    clicks,
    conversions,
    conversion_value,
    {{ performance_ratios() }},
    reporting_currency,
    fx_rate,
    spend_reporting,
    conversion_value_reporting,
    reporting_ad_count,
    _extracted_at
from rolled_up
