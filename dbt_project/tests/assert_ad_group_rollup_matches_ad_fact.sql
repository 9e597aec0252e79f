-- fct_ad_group_performance_daily is a pure rollup of the ad fact: totals match per tenant, platform, account and day.
{{ config(meta={'dagster': {'ref': {'name': 'fct_ad_group_performance_daily'}}}) }}
{{ rollup_reconciliation('fct_ad_group_performance_daily') }}
