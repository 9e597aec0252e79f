{#-
    Campaign performance over the last 7 days: the 7 days ending with the newest day in
    fct_campaign_performance_daily (anchored on the data, so a late or historic load still shows a
    full week). Money in the account currency and in the reporting currency, with the currency's
    decimals; roas and cpa from the summed metrics (null when the denominator is zero); ratios (roas,
    ctr) to 4 decimals, cpa and cpc as money.
-#}
with bounds as (
    select max(date_day) as window_end, max(date_day) - 6 as window_start
    from {{ ref('fct_campaign_performance_daily') }}
),

week as (
    select
        fact.tenant_id,
        fact.platform,
        fact.account_id,
        fact.campaign_id,
        max(fact.currency) as currency,
        max(fact.reporting_currency) as reporting_currency,
        count(distinct fact.date_day) as days_with_data,
        sum(fact.spend) as spend,
        sum(fact.spend_reporting) as spend_reporting,
        sum(fact.impressions) as impressions,
        sum(fact.clicks) as clicks,
        sum(fact.conversions) as conversions,
        sum(fact.conversion_value) as conversion_value,
        sum(fact.conversion_value_reporting) as conversion_value_reporting
    from {{ ref('fct_campaign_performance_daily') }} as fact
    cross join bounds
    where fact.date_day between bounds.window_start and bounds.window_end
    group by fact.tenant_id, fact.platform, fact.account_id, fact.campaign_id
)

select
    week.tenant_id,
    bounds.window_start,
    bounds.window_end,
    week.platform,
    week.account_id,
    accounts.account_name,
    week.campaign_id,
    campaigns.campaign_name,
    campaigns.status as campaign_status,
    week.days_with_data,
    week.currency,
    {{ round_money('week.spend', 'week.currency') }} as spend,
    {{ round_money('week.conversion_value', 'week.currency') }} as conversion_value,
    week.reporting_currency,
    {{ round_money('week.spend_reporting', 'week.reporting_currency') }} as spend_reporting,
    {{ round_money('week.conversion_value_reporting', 'week.reporting_currency') }} as conversion_value_reporting,
    week.impressions,
    week.clicks,
    week.conversions,
    -- ratios of the unrounded sums, then rounded for reading
    {{ round_ratio(safe_divide('week.conversion_value', 'week.spend')) }} as roas,
    {{ round_money(safe_divide('week.spend', 'week.conversions'), 'week.currency') }} as cpa,
    {{ round_money(safe_divide('week.spend_reporting', 'week.conversions'), 'week.reporting_currency') }} as cpa_reporting,
    {{ round_ratio(safe_divide('week.clicks', 'week.impressions')) }} as ctr,
    {{ round_money(safe_divide('week.spend', 'week.clicks'), 'week.currency') }} as cpc
from week
cross join bounds
left join {{ ref('dim_campaigns') }} as campaigns
    on week.tenant_id = campaigns.tenant_id
    and week.platform = campaigns.platform
    and week.account_id = campaigns.account_id
    and week.campaign_id = campaigns.campaign_id
left join {{ ref('dim_ad_accounts') }} as accounts
    on week.tenant_id = accounts.tenant_id
    and week.platform = accounts.platform
    and week.account_id = accounts.account_id
-- The reader's tenants only (a view runs with its owner's rights, so it filters for the reader).
where week.tenant_id in (select app.visible_tenants())
