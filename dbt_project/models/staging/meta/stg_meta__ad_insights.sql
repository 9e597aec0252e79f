with source as (
    select * from {{ source('meta', 'ads_insights_daily') }}
)

select
    account_id,
    ad_id,
    date_start as date_day,
    payload ->> 'campaign_id' as campaign_id,
    -- House vocabulary: a Meta ad set is an ad group.
    payload ->> 'adset_id' as ad_group_id,
    payload ->> 'account_name' as account_name,
    payload ->> 'campaign_name' as campaign_name,
    payload ->> 'adset_name' as ad_group_name,
    payload ->> 'ad_name' as ad_name,
    upper(payload ->> 'account_currency') as currency,
    -- Numbers arrive as JSON strings; a missing metric means zero.
    coalesce(nullif(payload ->> 'spend', '')::numeric, 0) as spend,
    coalesce(nullif(payload ->> 'impressions', '')::bigint, 0) as impressions,
    coalesce(nullif(payload ->> 'clicks', '')::bigint, 0) as clicks,
    coalesce(nullif(payload ->> 'reach', '')::bigint, 0) as reach,
    {{ meta_action_total("payload -> 'actions'", 'link_click') }} as link_clicks,
    -- Exactly one action type counts as a conversion: purchase / omni_purchase repeat the pixel
    -- purchase, so summing every purchase-like type would double or triple count.
    {{ meta_action_total("payload -> 'actions'", var('meta_conversion_action_type')) }} as conversions,
    {{ meta_action_total("payload -> 'action_values'", var('meta_conversion_action_type')) }} as conversion_value,
    payload ->> 'attribution_setting' as attribution_setting,
    _sync_id,
    _extracted_at
from source
