{#-
    Signal health per account-day of a tenant: can the numbers of (tenant_id, date_day, platform,
    account_id) be trusted? Every input (facts, accounts, raw.sync_runs) is read by tenant.
    One row per day from the account's first data day (within the context read) to the as-of day,
    including days without data (those are what completeness is about).

    As of: max_date when given (Dagster passes the run's window, so a historic run is
    reproducible): as-of day = max_date, as-of instant = the end of max_date (UTC); otherwise
    yesterday and now().

    Incremental like the daily fact (delete+insert on date_day over min_date..max_date, else the
    last lookback_days days before the newest scored day). It reads the account-day totals of the
    fact from signal_health_context_days before the window (same-weekday baseline of 4 weeks, the
    surrounding days a gap is judged by), so it stays cheap however long the history is.

    Dimensions (each 0-100; see _marts__models.yml for every check):
      freshness    - freshness_sync_age, freshness_last_sync_failed (recent days only),
                     stale_data (days since the account's last data day), freshness_partial_day
      completeness - completeness_missing_day (no rows while the account delivered before and after),
                     completeness_entity_coverage (reporting ads vs the prior week's median)
      accuracy     - accuracy_daily_anomaly (impressions vs the same-weekday median of the prior 4
                     weeks, the scored day excluded); ad-vs-account totals are not available (no
                     connector loads an account-level report) and are listed in `notes`.
-#}
{%- set lookback_days = var('lookback_days') | int -%}
{%- set min_date = run_min_date() -%}
{%- set max_date = run_max_date() -%}
{%- set context_days = var('signal_health_context_days') | int -%}
{%- set recent_days = var('signal_health_recent_days') | int -%}
{%- set max_sync_age_hours = var('signal_health_max_sync_age_hours') | float -%}
{%- set max_data_lag_days = var('signal_health_max_data_lag_days') | int -%}
{%- set anomaly_low = var('signal_health_anomaly_low_ratio') | float -%}
{%- set anomaly_high = var('signal_health_anomaly_high_ratio') | float -%}
{%- set coverage_min = var('signal_health_min_entity_coverage') | float -%}
{%- set healthy_min = var('signal_health_healthy_min_score') | int -%}
{%- set unhealthy_below = var('signal_health_unhealthy_below_score') | int -%}

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='date_day',
        partition_by_month='date_day',
        on_schema_change='fail',
        indexes=[
            {'columns': ['date_day']},
            {'columns': ['tenant_id', 'platform', 'account_id', 'date_day'], 'unique': True},
        ],
    )
}}

{%- if max_date %}
    {%- set as_of_day = "'" ~ max_date ~ "'::date" -%}
    {%- set as_of_ts = "(('" ~ max_date ~ "'::date + 1)::timestamp at time zone 'UTC')" -%}
{%- else %}
    {%- set as_of_day = "(current_date - 1)" -%}
    {%- set as_of_ts = "now()" -%}
{%- endif %}

{%- if is_incremental() and min_date and max_date %}
    {%- set window_start = "'" ~ min_date ~ "'::date" -%}
{%- elif is_incremental() %}
    {%- set window_start = "coalesce((select max(date_day) from " ~ this ~ ") - " ~ lookback_days ~ ", '0001-01-01'::date)" -%}
{%- else %}
    {%- set window_start = "'0001-01-01'::date" -%}
{%- endif %}

with params as (
    select
        {{ window_start }} as window_start,
        {{ as_of_day }} as as_of_day,
        {{ as_of_ts }} as as_of_ts
),

bounds as (
    select
        window_start,
        as_of_day,
        as_of_ts,
        window_start - {{ context_days }} as context_start
    from params
),

accounts as (
    select tenant_id, platform, account_id, source, timezone, status from {{ ref('dim_ad_accounts') }}
),

-- Account-day totals of the unified fact (the daily grain health is scored at).
account_days as (
    select
        fact.tenant_id,
        fact.platform,
        fact.account_id,
        fact.date_day,
        sum(fact.spend) as spend,
        sum(fact.impressions) as impressions,
        sum(fact.clicks) as clicks,
        count(*) as reporting_ad_count,
        count(distinct fact.campaign_id) as reporting_campaign_count
    from {{ ref('fct_ad_performance_daily') }} as fact
    cross join bounds
    where fact.date_day between bounds.context_start and bounds.as_of_day
    group by fact.tenant_id, fact.platform, fact.account_id, fact.date_day
),

account_spans as (
    select tenant_id, platform, account_id, min(date_day) as first_data_day
    from account_days
    group by tenant_id, platform, account_id
),

-- Every day from the account's first data day (in the context) to the as-of day.
spine as (
    select
        spans.tenant_id,
        spans.platform,
        spans.account_id,
        day::date as date_day
    from account_spans as spans
    cross join bounds
    cross join lateral generate_series(spans.first_data_day, bounds.as_of_day, interval '1 day') as day
),

days as (
    select
        spine.tenant_id,
        spine.platform,
        spine.account_id,
        spine.date_day,
        account_days.date_day is not null as has_data,
        coalesce(account_days.spend, 0) as spend,
        coalesce(account_days.impressions, 0) as impressions,
        coalesce(account_days.clicks, 0) as clicks,
        coalesce(account_days.reporting_ad_count, 0) as reporting_ad_count,
        max(account_days.date_day) over (
            partition by spine.tenant_id, spine.platform, spine.account_id order by spine.date_day
            rows between unbounded preceding and current row
        ) as last_data_day,
        min(account_days.date_day) over (
            partition by spine.tenant_id, spine.platform, spine.account_id order by spine.date_day
            rows between current row and unbounded following
        ) as next_data_day
    from spine
    left join account_days
        on spine.tenant_id = account_days.tenant_id
        and spine.platform = account_days.platform
        and spine.account_id = account_days.account_id
        and spine.date_day = account_days.date_day
),

-- Syncs of each connector account's daily stream (imported files have no schedule) whose window
-- reaches the scored days: which sync read a day. Older syncs are never looked at, so this follows
-- the window, not the sync history.
syncs as (
    select runs.tenant_id, runs.platform, runs.account_id, runs.window_start, runs.window_end, runs.finished_at, runs.status
    from {{ source('raw', 'sync_runs') }} as runs
    cross join bounds
    where runs.stream = 'ads_insights_daily'
        and runs.status = 'succeeded'
        and runs.window_end >= bounds.window_start
),

-- Each account's last succeeded sync and the status of its last finished one: index probes into
-- raw.sync_runs (platform, stream, account_id, finished_at; the tenant is checked on the rows
-- found), not a scan of every sync.
sync_state as (
    select
        spans.tenant_id,
        spans.platform,
        spans.account_id,
        last_success.finished_at as last_synced_at,
        last_finished.status as last_sync_status
    from account_spans as spans
    left join lateral (
        select max(runs.finished_at) as finished_at
        from {{ source('raw', 'sync_runs') }} as runs
        where runs.tenant_id = spans.tenant_id
            and runs.platform = spans.platform
            and runs.stream = 'ads_insights_daily'
            and runs.account_id = spans.account_id
            and runs.status = 'succeeded'
    ) as last_success on true
    left join lateral (
        select runs.status
        from {{ source('raw', 'sync_runs') }} as runs
        where runs.tenant_id = spans.tenant_id
            and runs.platform = spans.platform
            and runs.stream = 'ads_insights_daily'
            and runs.account_id = spans.account_id
            and runs.status <> 'running'
        order by runs.started_at desc
        limit 1
    ) as last_finished on true
),

scored as (
    select
        days.*,
        accounts.source,
        accounts.timezone,
        accounts.status as account_status,
        bounds.as_of_day,
        bounds.as_of_ts,
        days.date_day > bounds.as_of_day - {{ recent_days }} as is_recent,
        days.date_day - days.last_data_day as days_since_last_data,
        (not days.has_data and days.last_data_day is not null and days.next_data_day is not null) as is_missing_day,
        sync_state.last_synced_at,
        sync_state.last_sync_status,
        round((greatest(0, extract(epoch from (bounds.as_of_ts - sync_state.last_synced_at))) / 3600.0)::numeric, 1)
            as hours_since_last_sync,
        day_sync.day_synced_at,
        weekday.baseline_impressions,
        weekday.baseline_days,
        coverage.baseline_ad_count
    from days
    cross join bounds
    left join accounts
        on days.tenant_id = accounts.tenant_id
        and days.platform = accounts.platform
        and days.account_id = accounts.account_id
    left join sync_state
        on days.tenant_id = sync_state.tenant_id
        and days.platform = sync_state.platform
        and days.account_id = sync_state.account_id
    -- The latest succeeded sync that covered the day: was it read after the day ended?
    left join lateral (
        select max(syncs.finished_at) as day_synced_at
        from syncs
        where syncs.tenant_id = days.tenant_id
            and syncs.platform = days.platform
            and syncs.account_id = days.account_id
            and days.date_day between syncs.window_start and syncs.window_end
    ) as day_sync on true
    -- Same weekday of the 4 prior weeks, days with data only; the scored day is never in it.
    left join lateral (
        select
            percentile_cont(0.5) within group (order by prior.impressions) as baseline_impressions,
            count(*) as baseline_days
        from account_days as prior
        where prior.tenant_id = days.tenant_id
            and prior.platform = days.platform
            and prior.account_id = days.account_id
            and prior.date_day in (days.date_day - 7, days.date_day - 14, days.date_day - 21, days.date_day - 28)
    ) as weekday on true
    -- Reporting ads on the 7 days before (with data).
    left join lateral (
        select percentile_cont(0.5) within group (order by prior.reporting_ad_count) as baseline_ad_count
        from account_days as prior
        where prior.tenant_id = days.tenant_id
            and prior.platform = days.platform
            and prior.account_id = days.account_id
            and prior.date_day between days.date_day - 7 and days.date_day - 1
    ) as coverage on true
    where days.date_day >= bounds.window_start
),

checks as (
    select
        scored.*,
        scored.source = scored.platform as is_connector_account,
        coalesce(scored.account_status, 'ACTIVE') not in ('DISABLED', 'CLOSED') as is_active_account,
        case when scored.baseline_days >= 3 and scored.baseline_impressions > 0 and scored.has_data
            then round((scored.impressions / scored.baseline_impressions)::numeric, 3)
        end as impressions_vs_baseline,
        case when scored.baseline_ad_count >= 4 and scored.has_data
            then round((scored.reporting_ad_count / scored.baseline_ad_count)::numeric, 3)
        end as entity_coverage
    from scored
),

flags as (
    select
        checks.*,
        -- freshness
        (is_connector_account and is_active_account and is_recent
            and (last_synced_at is null or hours_since_last_sync > {{ max_sync_age_hours }})) as f_sync_age,
        (is_connector_account and is_active_account and is_recent
            and last_sync_status = 'failed') as f_sync_failed,
        (is_active_account and not has_data and next_data_day is null
            and days_since_last_data > {{ max_data_lag_days }}) as f_stale_data,
        (is_connector_account and has_data and day_synced_at is not null and timezone is not null
            and day_synced_at < ((date_day + 1)::timestamp at time zone timezone)) as f_partial_day,
        -- completeness
        is_missing_day as c_missing_day,
        coalesce(entity_coverage < {{ coverage_min }}, false) as c_coverage,
        -- accuracy
        coalesce(
            impressions_vs_baseline < {{ anomaly_low }} or impressions_vs_baseline > {{ anomaly_high }}, false
        ) as a_anomaly
    from checks
),

dimension_scores as (
    select
        flags.*,
        least(
            100,
            case when f_sync_age and (last_synced_at is null or hours_since_last_sync > 2 * {{ max_sync_age_hours }}) then 20
                when f_sync_age then 60 end,
            case when f_sync_failed then 60 end,
            case when f_stale_data and days_since_last_data > 2 * {{ max_data_lag_days }} then 20
                when f_stale_data then 60 end,
            case when f_partial_day then 60 end
        ) as freshness_score,
        least(
            100,
            case when c_missing_day then 40 end,
            case when c_coverage then greatest(40, round(100 * entity_coverage))::integer end
        ) as completeness_score,
        least(100, case when a_anomaly then 50 end) as accuracy_score
    from flags
),

final as (
    select
        dimension_scores.*,
        round(0.35 * freshness_score + 0.40 * completeness_score + 0.25 * accuracy_score)::integer as health_score
    from dimension_scores
)

select
    tenant_id,
    date_day,
    platform,
    account_id,
    source,
    as_of_day,
    as_of_ts as as_of_at,
    has_data,
    spend,
    impressions,
    clicks,
    reporting_ad_count,
    last_data_day,
    days_since_last_data,
    last_synced_at,
    hours_since_last_sync,
    day_synced_at,
    baseline_impressions,
    impressions_vs_baseline,
    baseline_ad_count,
    entity_coverage,
    freshness_score,
    completeness_score,
    accuracy_score,
    health_score,
    case
        when health_score < {{ unhealthy_below }} or least(freshness_score, completeness_score, accuracy_score) < 30
            then 'unhealthy'
        when least(freshness_score, completeness_score, accuracy_score) < {{ healthy_min }} then 'degraded'
        else 'healthy'
    end as status,
    to_jsonb(array_remove(array[
        case when f_sync_age then jsonb_build_object(
            'check', 'freshness_sync_age',
            'detail', case when last_synced_at is null then 'no succeeded sync of the daily stream'
                else 'last succeeded sync ' || hours_since_last_sync || ' h before ' || as_of_ts
                    || ' (max {{ max_sync_age_hours }} h)' end) end,
        case when f_sync_failed then jsonb_build_object(
            'check', 'freshness_last_sync_failed',
            'detail', 'the latest sync of the daily stream failed') end,
        case when f_stale_data then jsonb_build_object(
            'check', 'stale_data',
            'detail', 'no data since ' || last_data_day || ' (' || days_since_last_data || ' days; max {{ max_data_lag_days }})') end,
        case when f_partial_day then jsonb_build_object(
            'check', 'freshness_partial_day',
            'detail', 'last read at ' || day_synced_at || ', before the day ended in ' || timezone) end,
        case when c_missing_day then jsonb_build_object(
            'check', 'completeness_missing_day',
            'detail', 'no rows for the day while the account delivered on ' || last_data_day || ' and ' || next_data_day) end,
        case when c_coverage then jsonb_build_object(
            'check', 'completeness_entity_coverage',
            'detail', reporting_ad_count || ' ads reported vs a median of ' || baseline_ad_count || ' on the prior 7 days') end,
        case when a_anomaly then jsonb_build_object(
            'check', 'accuracy_daily_anomaly',
            'detail', 'impressions ' || impressions || ' are ' || impressions_vs_baseline
                || 'x the same-weekday median of the prior 4 weeks (' || baseline_impressions || ')') end
    ], null)) as issues,
    to_jsonb(array_remove(array[
        jsonb_build_object(
            'check', 'accuracy_ad_vs_account_totals',
            'detail', 'not available: no connector loads an account-level report, so ad-level sums are not reconciled (scored 100)'),
        case when has_data and impressions_vs_baseline is null then jsonb_build_object(
            'check', 'accuracy_daily_anomaly',
            'detail', 'not scored: fewer than 3 same-weekday days with data in the prior 4 weeks') end,
        case when not is_connector_account then jsonb_build_object(
            'check', 'freshness_sync_age',
            'detail', 'not scored: the account''s data comes from imported files, which have no sync schedule') end
    ], null)) as notes
from final
