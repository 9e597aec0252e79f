{#
    An account-day comes from one source: the platform's connector or an imported file, never a mix
    (a file's ads added to the API's would double count). The unions enforce it by preferring the
    connector (macros/union_platform_models.sql); this guards the daily fact it feeds. Returns one
    row per account-day with more than one source.
#}
select tenant_id, platform, account_id, date_day, count(distinct source) as sources
from {{ ref('fct_ad_performance_daily') }}
where {{ run_window_condition() }}  -- the run's window (every day on a full refresh)
group by tenant_id, platform, account_id, date_day
having count(distinct source) > 1
