{{ config(severity='warn') }}
{#- Clicks should not exceed impressions for an ad-day; some platforms count clicks on views
    reported elsewhere, so this warns (rows listed) instead of failing the build. -#}
select date_day, tenant_id, platform, account_id, ad_id, impressions, clicks
from {{ ref('fct_ad_performance_daily') }}
where clicks > impressions
    and {{ run_window_condition() }}  -- the run's window (every day on a full refresh)
