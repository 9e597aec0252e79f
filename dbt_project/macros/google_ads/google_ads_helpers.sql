{#
    Google Ads-specific parsing helpers shared by the staging/google_ads models. Payloads are the
    REST JSON rows of GAQL queries: camelCase, one object per selected resource (`customer`,
    `campaign`, `adGroup`, `adGroupAd`, `campaignBudget`, `segments`, `metrics`).
#}

{# Money arrives as int64 micros of the account currency, sent as JSON strings ("25990000"):
   micros / 1e6 = major units. Missing stays null (callers coalesce metrics to 0). #}
{% macro google_ads_micros_to_major(amount) -%}
    round({{ safe_cast("nullif(" ~ amount ~ ", '')", "numeric") }} / 1000000, 6)
{%- endmacro %}


{# Google's status of a campaign, ad group or ad (ENABLED / PAUSED / REMOVED) in the unified
   vocabulary. Unknown values stay null so accepted_values / not_null tests surface them. #}
{% macro google_ads_unified_status(status) -%}
    case upper({{ status }})
        when 'ENABLED' then 'ACTIVE'
        when 'PAUSED' then 'PAUSED'
        when 'REMOVED' then 'REMOVED'
    end
{%- endmacro %}


{# The columns every ad-level metrics row yields, daily or hourly (`payload` names the jsonb).
   int64 metrics are JSON strings, conversions doubles (fractional under data-driven attribution);
   a metric Google leaves out counts as zero. #}
{% macro google_ads_insights_columns(payload='payload') -%}
    {{ payload }} -> 'campaign' ->> 'id' as campaign_id,
    {{ payload }} -> 'adGroup' ->> 'id' as ad_group_id,
    {{ payload }} -> 'customer' ->> 'descriptiveName' as account_name,
    {{ payload }} -> 'campaign' ->> 'name' as campaign_name,
    {{ payload }} -> 'adGroup' ->> 'name' as ad_group_name,
    {{ payload }} -> 'adGroupAd' -> 'ad' ->> 'name' as ad_name,
    upper({{ payload }} -> 'customer' ->> 'currencyCode') as currency,
    round({{ metric_number(payload ~ " -> 'metrics' ->> 'costMicros'") }} / 1000000, 6) as spend,
    {{ metric_count(payload ~ " -> 'metrics' ->> 'impressions'") }} as impressions,
    {{ metric_count(payload ~ " -> 'metrics' ->> 'clicks'") }} as clicks,
    {{ metric_number(payload ~ " -> 'metrics' ->> 'conversions'") }} as conversions,
    {{ metric_number(payload ~ " -> 'metrics' ->> 'conversionsValue'") }} as conversion_value
{%- endmacro %}
