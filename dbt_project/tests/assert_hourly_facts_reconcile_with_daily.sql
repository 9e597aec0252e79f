{#
    Hourly and daily facts tell the same story, on every platform: for each complete day the hourly
    fact holds, an ad's hours add up to its day in fct_ad_performance_daily: spend within a cent,
    impressions and clicks exactly, and no ad-day on one side only. Conversions are not compared:
    they restate for weeks, and the two grains are re-synced on different schedules.

    An account-day is compared only when
    - it lies in the account's hourly range (first..newest hourly day): days outside hourly
      retention have no hours to compare;
    - it is not the account's newest hourly day, which may be the current, partial day whatever
      clock the source runs on (a sandbox pins its own);
    - the daily fact has it (the daily sync may not have run yet), and both its daily rows and its
      hourly rows were read after the day ended in the account's timezone: a day read while it was
      still running is partial on that side (e.g. a daily run at 03:00 UTC reads a day that is not
      over in Los Angeles; an hourly sync stopped mid-day).
    A day with daily rows and no hours at all inside the range is a gap and fails.

    Returns one row per ad-day that does not reconcile. Passes with nothing to compare while a fact
    is not built yet (e.g. a run that builds only the daily or only the hourly models first).
#}
{#- Dagster shows it as a check of the hourly ad fact. No model depends on all three of its parents,
    so a failure skips nothing, but it fails the build (and the Dagster step): set
    var('hourly_reconciliation_severity') to warn to only report. -#}
{{ config(
    severity=var('hourly_reconciliation_severity', 'error'),
    meta={'dagster': {'ref': {'name': 'fct_ad_performance_hourly'}}},
) }}
{%- set spend_tolerance = 0.01 -%}
{%- set hourly_fact = ref('fct_ad_performance_hourly') -%}
{%- set daily_fact = ref('fct_ad_performance_daily') -%}
{%- set accounts = ref('dim_ad_accounts') -%}
{%- set state = namespace(missing=[]) -%}
{%- if execute -%}
    {%- for relation in [hourly_fact, daily_fact, accounts] -%}
        {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
            {%- set state.missing = state.missing + [relation.identifier] -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

{% if state.missing -%}
-- Not built yet: {{ state.missing | join(', ') }}. Nothing to reconcile.
select null::text as tenant_id, null::text as platform, null::text as account_id, null::text as ad_id, null::date as date_day
where false
{%- else -%}
with hourly_ad_days as (
    select
        tenant_id,
        platform,
        account_id,
        ad_id,
        date_day,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        min(_extracted_at) as extracted_at
    from {{ hourly_fact }}
    group by tenant_id, platform, account_id, ad_id, date_day
),

hourly_ranges as (
    select tenant_id, platform, account_id, min(date_day) as first_day, max(date_day) as newest_day
    from {{ hourly_fact }}
    group by tenant_id, platform, account_id
),

daily_ad_days as (
    select
        daily.tenant_id,
        daily.platform,
        daily.account_id,
        daily.ad_id,
        daily.date_day,
        daily.spend,
        daily.impressions,
        daily.clicks,
        daily._extracted_at as extracted_at
    from {{ daily_fact }} as daily
    inner join hourly_ranges
        on daily.tenant_id = hourly_ranges.tenant_id
        and daily.platform = hourly_ranges.platform
        and daily.account_id = hourly_ranges.account_id
        and daily.date_day between hourly_ranges.first_day and hourly_ranges.newest_day
),

account_days as (
    select
        tenant_id,
        platform,
        account_id,
        date_day,
        min(hourly_extracted_at) as hourly_extracted_at,
        min(daily_extracted_at) as daily_extracted_at
    from (
        select tenant_id, platform, account_id, date_day, extracted_at as hourly_extracted_at, null::timestamptz as daily_extracted_at
        from hourly_ad_days
        union all
        select tenant_id, platform, account_id, date_day, null::timestamptz, extracted_at
        from daily_ad_days
    ) as both_sides
    group by tenant_id, platform, account_id, date_day
),

complete_account_days as (
    select
        account_days.tenant_id,
        account_days.platform,
        account_days.account_id,
        account_days.date_day
    from account_days
    inner join hourly_ranges
        on account_days.tenant_id = hourly_ranges.tenant_id
        and account_days.platform = hourly_ranges.platform
        and account_days.account_id = hourly_ranges.account_id
    left join {{ accounts }} as accounts
        on account_days.tenant_id = accounts.tenant_id
        and account_days.platform = accounts.platform
        and account_days.account_id = accounts.account_id
    cross join lateral (
        -- The local midnight ending the day; without a known timezone, the latest one on Earth.
        select ((account_days.date_day + 1)::timestamp at time zone coalesce(accounts.timezone, 'Etc/GMT+12')) as day_ended_at
    ) as day_end
    where account_days.date_day < hourly_ranges.newest_day
        and account_days.daily_extracted_at >= day_end.day_ended_at
        and (account_days.hourly_extracted_at is null or account_days.hourly_extracted_at >= day_end.day_ended_at)
),

compared as (
    select
        tenant_id,
        platform,
        account_id,
        ad_id,
        date_day,
        hourly_ad_days.spend as hourly_spend,
        daily_ad_days.spend as daily_spend,
        hourly_ad_days.impressions as hourly_impressions,
        daily_ad_days.impressions as daily_impressions,
        hourly_ad_days.clicks as hourly_clicks,
        daily_ad_days.clicks as daily_clicks
    from hourly_ad_days
    full outer join daily_ad_days using (tenant_id, platform, account_id, ad_id, date_day)
)

select compared.*
from compared
inner join complete_account_days using (tenant_id, platform, account_id, date_day)
where compared.hourly_spend is null
    or compared.daily_spend is null
    or abs(compared.hourly_spend - compared.daily_spend) > {{ spend_tolerance }}
    or compared.hourly_impressions is distinct from compared.daily_impressions
    or compared.hourly_clicks is distinct from compared.daily_clicks
{%- endif %}
