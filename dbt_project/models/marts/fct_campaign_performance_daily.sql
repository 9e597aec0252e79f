{#-
    Daily performance per campaign, rolled up from fct_ad_performance_daily. Incremental like the
    ad fact (delete+insert on date_day): a run rebuilds the days between min_date and
    max_date that Dagster passes, or else the last var('lookback_days') days before its own
    newest day (and every newer day of the ad fact), so its cost follows the window, not the history.
    campaign_name is the campaign's current name (dim_campaigns) on every day: the post-hook renames
    the days outside the window, so the table equals a full refresh; on a windowed run it touches
    only campaigns whose name changed.
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
            {'columns': ['tenant_id', 'platform', 'account_id', 'campaign_id', 'date_day'], 'unique': True},
        ],
        post_hook=[
            """
            {% if is_incremental() and run_min_date() and run_max_date() %}
            -- Rows outside the window carry the name dim_campaigns had before this run (every run
            -- leaves the table so). Rename only campaigns whose name changed: one index probe per
            -- campaign finds the name on a row outside the window.
            with renamed as (
                select campaigns.tenant_id, campaigns.platform, campaigns.account_id, campaigns.campaign_id, campaigns.campaign_name
                from {{ ref('dim_campaigns') }} as campaigns
                cross join lateral (
                    select outside.campaign_name
                    from {{ this }} as outside
                    where outside.tenant_id = campaigns.tenant_id
                        and outside.platform = campaigns.platform
                        and outside.account_id = campaigns.account_id
                        and outside.campaign_id = campaigns.campaign_id
                        and outside.date_day < '{{ run_min_date() }}'::date
                    order by outside.date_day desc
                    limit 1
                ) as before_window
                where before_window.campaign_name is distinct from campaigns.campaign_name
                union
                select campaigns.tenant_id, campaigns.platform, campaigns.account_id, campaigns.campaign_id, campaigns.campaign_name
                from {{ ref('dim_campaigns') }} as campaigns
                cross join lateral (
                    select outside.campaign_name
                    from {{ this }} as outside
                    where outside.tenant_id = campaigns.tenant_id
                        and outside.platform = campaigns.platform
                        and outside.account_id = campaigns.account_id
                        and outside.campaign_id = campaigns.campaign_id
                        and outside.date_day > '{{ run_max_date() }}'::date
                    order by outside.date_day
                    limit 1
                ) as after_window
                where after_window.campaign_name is distinct from campaigns.campaign_name
            )
            update {{ this }} as fact
            set campaign_name = renamed.campaign_name
            from renamed
            where fact.tenant_id = renamed.tenant_id
                and fact.platform = renamed.platform
                and fact.account_id = renamed.account_id
                and fact.campaign_id = renamed.campaign_id
                and fact.campaign_name is distinct from renamed.campaign_name
            {% elif is_incremental() %}
            update {{ this }} as fact
            set campaign_name = campaigns.campaign_name
            from {{ ref('dim_campaigns') }} as campaigns
            where fact.tenant_id = campaigns.tenant_id
                and fact.platform = campaigns.platform
                and fact.account_id = campaigns.account_id
                and fact.campaign_id = campaigns.campaign_id
                and fact.campaign_name is distinct from campaigns.campaign_name
            {% endif %}
            """,
            """
            {% if is_incremental() and not (run_min_date() and run_max_date()) %}
            -- Without a window: names of campaigns dim_campaigns no longer has. (A windowed run needs
            -- none: a campaign with rows here has ad-fact rows, so dim_campaigns has it.)
            update {{ this }} as fact
            set campaign_name = null
            where fact.campaign_name is not null
                and not exists (
                    select 1
                    from {{ ref('dim_campaigns') }} as campaigns
                    where fact.tenant_id = campaigns.tenant_id
                        and fact.platform = campaigns.platform
                        and fact.account_id = campaigns.account_id
                        and fact.campaign_id = campaigns.campaign_id
                )
            {% endif %}
            """,
        ],
    )
}}

with ad_performance as (
    select * from {{ ref('fct_ad_performance_daily') }}
    {{ daily_rollup_window() }}
),

campaigns as (
    select tenant_id, platform, account_id, campaign_id, campaign_name from {{ ref('dim_campaigns') }}
),

rolled_up as (
    select
        tenant_id,
        date_day,
        platform,
        -- One source per account-day (the unions prefer the connector), so grouping by it never
        -- splits a campaign-day; if that ever broke, the grain test would say so.
        source,
        account_id,
        campaign_id,
        {{ summed_ad_metrics() }},
        count(*) as reporting_ad_count,
        max(_extracted_at) as _extracted_at
    from ad_performance
    group by tenant_id, date_day, platform, source, account_id, campaign_id
)

select
    rolled_up.tenant_id,
    rolled_up.date_day,
    rolled_up.platform,
    rolled_up.source,
    rolled_up.account_id,
    rolled_up.campaign_id,
    campaigns.campaign_name,
    rolled_up.currency,
    rolled_up.spend,
    rolled_up.impressions,
    rolled_up.clicks,
    rolled_up.conversions,
    rolled_up.conversion_value,
    {{ performance_ratios(
        spend='rolled_up.spend',
        impressions='rolled_up.impressions',
        clicks='rolled_up.clicks',
        conversions='rolled_up.conversions',
        conversion_value='rolled_up.conversion_value',
    ) }},
    rolled_up.reporting_currency,
    rolled_up.fx_rate,
    rolled_up.spend_reporting,
    rolled_up.conversion_value_reporting,
    rolled_up.reporting_ad_count,
    rolled_up._extracted_at
from rolled_up
left join campaigns
    on rolled_up.tenant_id = campaigns.tenant_id
    and rolled_up.platform = campaigns.platform
    and rolled_up.account_id = campaigns.account_id
    and rolled_up.campaign_id = campaigns.campaign_id
