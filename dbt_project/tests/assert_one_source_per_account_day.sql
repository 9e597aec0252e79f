{#
    An account-day comes from one source: the platform's connector or an imported file, never a mix
    (a file's ads added to the API's would double count). The unions enforce it by preferring the
    connector (macros/union_platform_models.sql); this guards the daily fact it feeds. Returns one
    row per account-day with more than one source.
#}
select platform, account_id, date_day, count(distinct source) as sources
from {{ ref('fct_ad_performance_daily') }}
{% if var('min_date', none) and var('max_date', none) and not flags.FULL_REFRESH %}
where date_day between '{{ var("min_date") }}'::date and '{{ var("max_date") }}'::date  -- the run's window
{% endif %}
group by platform, account_id, date_day
having count(distinct source) > 1
