with source as (
    select * from {{ source('snapchat', 'ads_insights_daily') }}
),

-- Snap's stats carry ids only: names, parents and currency come from the entity snapshots.
ads as (
    select account_id, ad_id, campaign_id, ad_group_id, ad_name from {{ ref('stg_snapchat__ads') }}
),

ad_squads as (
    select account_id, ad_group_id, ad_group_name from {{ ref('stg_snapchat__ad_squads') }}
),

campaigns as (
    select account_id, campaign_id, campaign_name from {{ ref('stg_snapchat__campaigns') }}
),

accounts as (
    select account_id, account_name, currency from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    source.account_id,
    source.ad_id,
    source.start_date as date_day,
    ads.campaign_id,
    ads.ad_group_id,
    accounts.account_name,
    campaigns.campaign_name,
    ad_squads.ad_group_name,
    ads.ad_name,
    accounts.currency,
    -- Shared with stg_snapchat__ad_insights_hourly: both grains parse a record the same way.
    {{ snapchat_stats_columns('source.payload') }},
    source._sync_id,
    source._extracted_at
from source
left join ads
    on source.account_id = ads.account_id
    and source.ad_id = ads.ad_id
left join ad_squads
    on ads.account_id = ad_squads.account_id
    and ads.ad_group_id = ad_squads.ad_group_id
left join campaigns
    on ads.account_id = campaigns.account_id
    and ads.campaign_id = campaigns.campaign_id
left join accounts
    on source.account_id = accounts.account_id
-- Idle ad-days (all stats zero) are left out, as every platform leaves them out.
where {{ snapchat_stats_have_activity('source.payload') }}
