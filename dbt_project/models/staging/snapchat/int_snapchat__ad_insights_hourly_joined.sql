-- Snap's hourly stats carry ids only: names, parents and currency come from the entity snapshots;
-- the account's IANA timezone turns the local clock hour into an instant.
with hours as (
    select * from {{ ref('stg_snapchat__ad_insights_hourly') }}
),

ads as (
    select tenant_id, account_id, ad_id, campaign_id, ad_group_id, ad_name from {{ ref('int_snapchat__ads_joined') }}
),

ad_squads as (
    select tenant_id, account_id, ad_group_id, ad_group_name from {{ ref('stg_snapchat__ad_squads') }}
),

campaigns as (
    select tenant_id, account_id, campaign_id, campaign_name from {{ ref('stg_snapchat__campaigns') }}
),

accounts as (
    select tenant_id, account_id, account_name, currency, timezone from {{ ref('stg_snapchat__ad_accounts') }}
)

select
    hours.tenant_id,
    hours.account_id,
    hours.ad_id,
    hours.date_day,
    hours.hour_of_day,
    hours.hour_start_local,
    {{ local_hour_start_to_utc('hours.hour_start_local', 'accounts.timezone') }} as hour_start_utc,
    hours.platform_hours,
    ads.campaign_id,
    ads.ad_group_id,
    accounts.account_name,
    campaigns.campaign_name,
    ad_squads.ad_group_name,
    ads.ad_name,
    accounts.currency,
    hours.spend,
    hours.impressions,
    hours.clicks,
    hours.conversions,
    hours.conversion_value,
    hours.attribution_setting,
    hours.finalized_data_end_time,
    hours.is_finalized,
    hours._sync_id,
    hours._extracted_at
from hours
left join ads
    on hours.tenant_id = ads.tenant_id
    and hours.account_id = ads.account_id
    and hours.ad_id = ads.ad_id
left join ad_squads
    on ads.tenant_id = ad_squads.tenant_id
    and ads.account_id = ad_squads.account_id
    and ads.ad_group_id = ad_squads.ad_group_id
left join campaigns
    on ads.tenant_id = campaigns.tenant_id
    and ads.account_id = campaigns.account_id
    and ads.campaign_id = campaigns.campaign_id
left join accounts
    on hours.tenant_id = accounts.tenant_id
    and hours.account_id = accounts.account_id
